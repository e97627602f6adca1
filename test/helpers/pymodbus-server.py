"""Independent Modbus TCP peer for conformance tests (Debian python3-pymodbus, run with /usr/bin/python3).

Usage: pymodbus-server.py PORT JSON   where JSON is {"input": {addr: value,...}, "holding": {...}} (0-based protocol addresses)
Serves those registers on 127.0.0.1:PORT, unit id 1; any other address answers exception 2.
"""
import json
import sys

from pymodbus.datastore import ModbusServerContext, ModbusSlaveContext, ModbusSparseDataBlock
from pymodbus.server import StartTcpServer

port = int(sys.argv[1])
spec = json.loads(sys.argv[2])


def block(d):
    values = {int(k): int(v) for k, v in d.items()}
    return ModbusSparseDataBlock(values or {0: 0})


store = ModbusSlaveContext(ir=block(spec.get("input", {})), hr=block(spec.get("holding", {})), zero_mode=True)
context = ModbusServerContext(slaves={1: store}, single=False)
print("READY", flush=True)
StartTcpServer(context=context, address=("127.0.0.1", port))
