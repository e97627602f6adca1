"""Independent Modbus peer for conformance tests (Debian python3-pymodbus, run with /usr/bin/python3).

Usage: pymodbus-server.py PORT JSON              Modbus TCP on 127.0.0.1:PORT, unit id 1
       pymodbus-server.py --rtu PATH JSON [UNIT]  Modbus RTU (RTU framer, 19200 8N1) on the serial
                                                  device PATH (e.g. one end of a socat pty pair)
JSON is {"input": {addr: value,...}, "holding": {...}} (0-based protocol addresses); any other
address answers exception 2.
"""
import json
import sys

# Everything the server needs is imported before READY: a missing module (pymodbus imports
# pyserial, which `apt-get install --no-install-recommends python3-pymodbus` does not bring) ends
# the process here with its ImportError on stderr, which the test helper reports as such.
import serial  # noqa: F401  (python3-serial)
from pymodbus.datastore import ModbusServerContext, ModbusSlaveContext, ModbusSparseDataBlock
from pymodbus.server import StartSerialServer, StartTcpServer
from pymodbus.transaction import ModbusRtuFramer

args = sys.argv[1:]
rtu = args[0] == "--rtu"
if rtu:
    args = args[1:]
where = args[0]
spec = json.loads(args[1])
unit = int(args[2]) if len(args) > 2 else 1


def block(d):
    values = {int(k): int(v) for k, v in d.items()}
    return ModbusSparseDataBlock(values or {0: 0})


store = ModbusSlaveContext(ir=block(spec.get("input", {})), hr=block(spec.get("holding", {})), zero_mode=True)
context = ModbusServerContext(slaves={unit: store}, single=False)
print("READY", flush=True)
if rtu:
    # A pty does not emulate line settings, but pyserial applies them: 8N1, as the driver is told.
    StartSerialServer(context=context, framer=ModbusRtuFramer, port=where, baudrate=19200, bytesize=8, parity="N", stopbits=1, timeout=0.05)
else:
    StartTcpServer(context=context, address=("127.0.0.1", int(where)))
