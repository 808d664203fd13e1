// s7_server.js — an S7 PLC as the snap7 library emulates it (npm node-snap7, the
// library's S7Server): DB1 (32 bytes) and 16 bytes of merkers exist, nothing else.
// Usage: node s7_server.js ADDRESS
'use strict';
const snap7 = require('node-snap7');
const server = new snap7.S7Server();
server.RegisterArea(server.srvAreaDB, 1, Buffer.alloc(32, 0x11));
server.RegisterArea(server.srvAreaMK, Buffer.alloc(16, 0x22));
server.on('event', (ev) => console.log(new Date().toISOString(), server.EventText(ev)));
server.StartTo(process.argv[2], (err) => {
	if (err) {
		console.log('start failed:', server.ErrorText(err));
		process.exit(1);
	}
	console.log('listening on', process.argv[2]);
});
process.on('SIGTERM', () => {
	server.Stop();
	process.exit(0);
});
