#!/usr/bin/env python
# _*_ coding: utf-8 _*_
'''
socket struct 传输大文件 解决黏包 TCP服务端 — the tutorial's file server, as written, except that
the address and the file come from the command line:

    python3 seed_server.py HOST PORT FILEPATH

PORT 0 picks a free port; the chosen port is printed ("listening on PORT") so a test can connect.
'''
import os
import json
import socket
import struct
import sys

host, port, filepath = sys.argv[1], int(sys.argv[2]), sys.argv[3]

server = socket.socket()
server.bind((host, port))
server.listen()
print('listening on', server.getsockname()[1], flush=True)
conn, addr = server.accept()

# 要传输的文件路径,文件名,文件大小
filename = os.path.basename(filepath)
filesize = os.path.getsize(filepath)
dic = {'filename': filename,
       'filesize': filesize}
# 字典json并转码bytes字节
str_dic = json.dumps(dic).encode('utf-8')
# 计算出json的字节长度并固定为struct模块的四位模式
len_dic = struct.pack('i', len(str_dic))

conn.send(len_dic) # 发送json的长度
conn.send(str_dic) # 发送json

with open(filepath, 'rb') as f:
    while filesize:
        content = f.read(4096)
        conn.send(content)
        filesize -= len(content)

conn.close()
server.close()
