// el_sensor.js — ECHONET Lite node with a temperature sensor (001101), npm echonet-lite.
// Announces its measured temperature (EPC E0) with INF (0x73) to 224.0.23.0 every
// PERIOD ms (argv[2], default 2000) until it is killed; answers Get like el_aircon.js.
'use strict';
const EL = require('echonet-lite');

const SENSOR = '001101';
const PERIOD = parseInt(process.argv[2] || '2000', 10);
const devs = {
	[SENSOR]: {
		'80': [0x30],
		'81': [0x08],
		'82': [0x00, 0x00, 0x50, 0x01],
		'83': [0xfe, 0x00, 0x00, 0x77, 0x00, 0x00, 0x02, 0x01, 0x02, 0x03, 0x04, 0x05, 0x07, 0x00, 0x00, 0x00, 0x03],
		'88': [0x42],
		'8a': [0x00, 0x00, 0x77],
		'9d': [0x02, 0x80, 0xe0],
		'9e': [0x01, 0x81],
		'9f': [0x0a, 0x80, 0x81, 0x82, 0x83, 0x88, 0x8a, 0x9d, 0x9e, 0x9f, 0xe0],
		'e0': [0x00, 0xdc], // 22.0 C
	},
};

function log(...a) {
	console.log(new Date().toISOString(), 'sensor', ...a);
}

EL.initialize([SENSOR], async (rinfo, els, err) => {
	if (err) { log('error', err); return; }
	if (!els || els.DEOJ.substr(0, 4) === '0ef0') { return; }
	if (els.ESV === EL.GET) { await EL.replyGetDetail(rinfo, els, devs); }
	if (els.ESV === EL.SETC || els.ESV === EL.SETI) { await EL.replySetDetail(rinfo, els, devs); }
}, 4, { v4: '', ignoreMe: true, autoGetProperties: false, debugMode: false });

let n = 0;
setTimeout(function tick() {
	const t = 0xdc + (n % 3); // 22.0, 22.1, 22.2 C
	devs[SENSOR].e0 = [t >> 8, t & 0xff];
	EL.sendOPC1(EL.EL_Multi, SENSOR, '05ff01', EL.INF, 'e0', devs[SENSOR].e0);
	n += 1;
	log('INF', n);
	setTimeout(tick, PERIOD);
}, 500);
log('up');
