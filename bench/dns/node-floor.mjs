// The floor of a Node.js UDP DNS responder on node:dgram, for reference in bench/dns/run.sh: per packet it
// only sets the QR bit and sends the datagram back (no parsing, no cache), with the socket
// options warpc uses on node:dgram (its fallback path; by default it uses the native batch layer).
import dgram from 'node:dgram';

const [address, port] = [process.argv[2] ?? '127.0.3.5', Number(process.argv[3] ?? 53)];
const sock = dgram.createSocket({
  type: 'udp4',
  recvBufferSize: 4 << 20,
  sendBufferSize: 4 << 20,
  lookup: (host, _opts, cb) => cb(null, host, 4),
});
sock.on('message', (msg, rinfo) => {
  msg[2] |= 0x80;
  sock.send(msg, rinfo.port, rinfo.address);
});
sock.bind(port, address);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => sock.close(() => process.exit(0)));
