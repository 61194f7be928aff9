#!/usr/bin/env python
# _*_ coding: utf-8 _*_

'''
socket struct 传输大文件 解决黏包 TCP客户端 — the tutorial's file client, as written, except that
the address and the output directory come from the command line:

    python3 seed_client.py HOST PORT OUTDIR

Two changes, both marked: the tutorial's `client.resv` typo is `client.recv` here, and an empty
recv (the peer closed early) ends the loop, which in the tutorial spins forever.
Like the tutorial, it trusts the sender's file name: run it only against a trusted sender.
'''

import json
import os
import struct
import socket
import sys

host, port, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.chdir(outdir)

client =socket.socket()
client.connect((host, port))

dic_len = client.recv(4)
dic_len = struct.unpack('i', dic_len)[0]
dic = client.recv(dic_len)
str_dic = dic.decode('utf-8')
dic = json.loads(str_dic)

with open(dic['filename'], 'wb') as f:
    while dic['filesize']:
        content = client.recv(4096)  # tutorial: client.resv(4096)
        if not content: break  # not in the tutorial: it loops forever when the sender stops early
        dic['filesize'] -= len(content)
        f.write(content)

client.close()
