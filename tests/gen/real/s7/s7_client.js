// s7_client.js — the snap7 library's S7Client (npm node-snap7) asking an S7 server
// (rack 0, slot 2) for what it has and what it has not, one request at a time.
// Usage: node s7_client.js ADDRESS          the requests below
//        node s7_client.js ADDRESS stall    connect, wait 1.5 s, read DB1 once (the
//                                           server is stopped meanwhile: no answer)
'use strict';
const snap7 = require('node-snap7');
const c = new snap7.S7Client();
const [ip, mode] = process.argv.slice(2);
const steps = mode === 'stall' ? [['DBRead DB1 0..3', (cb) => c.DBRead(1, 0, 4, cb)]] : [
	['DBRead DB1 0..3', (cb) => c.DBRead(1, 0, 4, cb)],
	['DBRead DB2 (no such DB)', (cb) => c.DBRead(2, 0, 4, cb)],
	['DBRead DB1 40..43 (past its end)', (cb) => c.DBRead(1, 40, 4, cb)],
	['DBWrite DB1 30..33 (crosses its end)', (cb) => c.DBWrite(1, 30, 4, Buffer.from([1, 2, 3, 4]), cb)],
	['ReadMultiVars DB1, DB3, MB 0, MB 20', (cb) => c.ReadMultiVars([
		{Area: c.S7AreaDB, WordLen: c.S7WLByte, DBNumber: 1, Start: 0, Amount: 2},
		{Area: c.S7AreaDB, WordLen: c.S7WLByte, DBNumber: 3, Start: 0, Amount: 2},
		{Area: c.S7AreaMK, WordLen: c.S7WLByte, DBNumber: 0, Start: 0, Amount: 2},
		{Area: c.S7AreaMK, WordLen: c.S7WLByte, DBNumber: 0, Start: 20, Amount: 2}], cb)],
	['WriteMultiVars DB1, DB4', (cb) => c.WriteMultiVars([
		{Area: c.S7AreaDB, WordLen: c.S7WLByte, DBNumber: 1, Start: 0, Amount: 1, Data: Buffer.from([9])},
		{Area: c.S7AreaDB, WordLen: c.S7WLByte, DBNumber: 4, Start: 0, Amount: 1, Data: Buffer.from([9])}], cb)],
	['ReadSZL 0x0011', (cb) => c.ReadSZL(0x0011, 0x0000, cb)],
	['ReadSZL 0x0C91/0x7FFF (not provided)', (cb) => c.ReadSZL(0x0C91, 0x7FFF, cb)],
	['ListBlocks', (cb) => c.ListBlocks(cb)],
	['GetPlcDateTime', (cb) => c.GetPlcDateTime(cb)],
	['SetPlcSystemDateTime', (cb) => c.SetPlcSystemDateTime(cb)],
	['SetSessionPassword', (cb) => c.SetSessionPassword('secret', cb)],
	['PlcStop', (cb) => c.PlcStop(cb)],
	['PlcHotStart', (cb) => c.PlcHotStart(cb)],
];
let i = 0;
function next() {
	if (i >= steps.length) {
		c.Disconnect();
		return;
	}
	const [name, fn] = steps[i++];
	fn((err, res) => {
		const out = Buffer.isBuffer(res) ? res.toString('hex') : JSON.stringify(res);
		console.log(name + ': ' + (err ? 'error ' + c.ErrorText(err) : 'ok ' + out));
		setTimeout(next, 100);
	});
}
c.ConnectTo(ip, 0, 2, (err) => {
	if (err) {
		console.log('connect failed:', c.ErrorText(err));
		process.exit(1);
	}
	setTimeout(next, mode === 'stall' ? 1500 : 0);
});
