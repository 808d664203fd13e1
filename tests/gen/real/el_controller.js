// el_controller.js — ECHONET Lite controller (05ff01) built on the npm package
// node-echonet-lite (futomi). Sends from UDP 3610.
//
// Usage: node el_controller.js AIRCON_IP SENSOR_IP KEEPALIVE_ROUNDS
//
//   discovery: Get 0ef000 D6 to 224.0.23.0 (the library sends the same TID 3 times)
//   then unicast requests with fixed TIDs (see README.md for the expected answers),
//   then one Get of the air conditioner's operation status every 5 s.
'use strict';
const EchonetLite = require('node-echonet-lite');

const [AIRCON, SENSOR] = [process.argv[2], process.argv[3]];
const ROUNDS = parseInt(process.argv[4] || '10', 10);
const el = new EchonetLite({ type: 'lan' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hex = (b) => Buffer.from(b).toString('hex');

function log(...a) {
	console.log(new Date().toISOString(), 'controller', ...a);
}

const esvName = (esv) => '0x' + esv.toString(16);

function send(tid, addr, eoj, esv, props, what) {
	el.setTransactionId(tid);
	const prop = props.map(([epc, edt]) => ({ epc, edt: edt ? Buffer.from(edt) : null }));
	log(`tx tid=0x${tid.toString(16).padStart(4, '0')} ${addr} ${hex(eoj)} ${esv} ${what}`);
	el.send(addr, eoj, esv, prop, (err, res) => {
		if (err) { log('  err', err.message); return; }
		const m = res.message;
		log(`  rx tid=0x${m.tid.toString(16)} from ${res.device.address} seoj=${hex(m.seoj)} esv=${esvName(m.esv)}`,
			m.prop.map((p) => p.epc.toString(16) + ':' + (p.buffer ? p.buffer.toString('hex') : '')).join(' '));
	});
}

el.on('notify', (res) => {
	const m = res.message;
	log(`notify from ${res.device.address} seoj=${hex(m.seoj)} esv=${esvName(m.esv)} tid=0x${m.tid.toString(16)}`);
});

el.init(async (err) => {
	if (err) { log('init failed', err); process.exit(1); }
	el.setTransactionId(0x0001);
	el.startDiscovery((e, res) => {
		if (e) { log('discovery error', e); return; }
		log('discovered', res.device.address, JSON.stringify(res.device.eoj));
	});
	await sleep(3500);
	el.stopDiscovery();

	const AC = [0x01, 0x30, 0x01];
	await sleep(500);
	send(0x0010, AIRCON, AC, 'Get', [[0x80], [0xb3], [0xbb]], 'Get 80,B3,BB (ok)');
	await sleep(1000);
	send(0x0011, AIRCON, AC, 'Get', [[0x80], [0xff]], 'Get 80,FF (FF missing -> Get_SNA)');
	await sleep(1000);
	send(0x0012, AIRCON, [0x01, 0x30, 0x02], 'Get', [[0x80]], 'Get 80 of 013002 (object missing -> Get_SNA)');
	await sleep(1000);
	send(0x0013, AIRCON, AC, 'SetC', [[0x80, [0x30]]], 'SetC 80=30 (ok -> Set_Res)');
	await sleep(1000);
	send(0x0014, AIRCON, AC, 'SetC', [[0xbb, [0x14]]], 'SetC BB=14 (read-only -> SetC_SNA)');
	await sleep(1000);
	send(0x0015, AIRCON, AC, 'SetC', [[0xb0, [0x99]]], 'SetC B0=99 (bad value -> SetC_SNA)');
	await sleep(1000);
	send(0x0016, AIRCON, AC, 'SetC', [[0xb3, [0x19]], [0xbb, [0x14]]], 'SetC B3=19,BB=14 (partial -> SetC_SNA)');
	await sleep(1000);
	send(0x0017, AIRCON, [0x02, 0x60, 0x01], 'SetC', [[0x80, [0x30]]], 'SetC 80=30 to 026001 (object missing -> silence)');
	await sleep(1000);
	send(0x0018, AIRCON, AC, 'SetI', [[0xbe, [0x10]]], 'SetI BE=10 (read-only, refused, no SetI_SNA)');
	await sleep(1000);
	send(0x0019, SENSOR, [0x00, 0x11, 0x01], 'Get', [[0xe0]], 'Get E0 of the sensor (ok)');
	// Keepalives at odd offsets from the sensor's INF grid, so that the sensor's
	// silence threshold (last INF + 3 x 2 s) falls clearly between two packets.
	await sleep(4000);
	for (let i = 0; i < ROUNDS; i++) {
		if (i) { await sleep(5000); }
		send(0x0020 + i, AIRCON, AC, 'Get', [[0x80]], `keepalive ${i + 1}/${ROUNDS}`);
	}
	await sleep(500);
	el.close();
	process.exit(0);
});
