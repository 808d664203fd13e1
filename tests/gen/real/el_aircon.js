// el_aircon.js — ECHONET Lite node with a home air conditioner (013001) and the node
// profile (0ef001), built on the npm package echonet-lite (Hiroshi Sugimura).
// The library encodes and sends every frame; this file is the "device code" a maker
// writes: it holds the property values and decides which SetC to refuse.
//
// Behaviour (library + this handler):
//   Get of a property it lacks, or of an object it lacks  -> Get_SNA (0x52) [library]
//   SetC of a read-only property (not in the Set map 9E)  -> SetC_SNA (0x51) [this handler]
//   SetC with a value the class code rejects (e.g. B0=99) -> SetC_SNA (0x51) [library]
//   SetC/SetI to an object it lacks                        -> no answer      [library]
//   SetI refused                                           -> no answer (no SetI_SNA) [library]
'use strict';
const EL = require('echonet-lite');

const AIRCON = '013001';
// Set property map 9E: operation status, installation location, power saving,
// operation mode, set temperature, air flow rate. Everything else is read-only.
const SETTABLE = ['80', '81', '8f', 'b0', 'b3', 'a0'];

const devs = {
	[AIRCON]: {
		'80': [0x31],                   // operation status: OFF
		'81': [0x08],                   // installation location: living room
		'82': [0x00, 0x00, 0x50, 0x01], // standard version: Release P rev.1
		'83': [0xfe, 0x00, 0x00, 0x77, 0x00, 0x00, 0x02, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x00, 0x00, 0x00, 0x02],
		'88': [0x42],                   // fault status: no fault
		'8a': [0x00, 0x00, 0x77],       // manufacturer code
		'8f': [0x42],                   // power-saving: normal
		'9d': [0x05, 0x80, 0x81, 0x88, 0x8f, 0xb0],
		'9e': [0x06, 0x80, 0x81, 0x8f, 0xa0, 0xb0, 0xb3],
		'9f': [0x0f, 0x80, 0x81, 0x82, 0x83, 0x88, 0x8a, 0x8f, 0x9d, 0x9e, 0x9f, 0xa0, 0xb0, 0xb3, 0xbb, 0xbe],
		'a0': [0x41],                   // air flow: auto
		'b0': [0x42],                   // operation mode: cooling
		'b3': [0x1a],                   // set temperature: 26 C
		'bb': [0x1c],                   // measured room temperature: 28 C (read-only)
		'be': [0x21],                   // measured outdoor temperature: 33 C (read-only)
	},
};

function log(...a) {
	console.log(new Date().toISOString(), 'aircon', ...a);
}

EL.initialize([AIRCON], async (rinfo, els, err) => {
	if (err) { log('error', err); return; }
	if (!els || els.DEOJ.substr(0, 4) === '0ef0') { return; } // node profile: library
	log('rx', rinfo.address + ':' + rinfo.port, 'tid', els.TID, els.SEOJ, '->', els.DEOJ, 'esv', els.ESV, JSON.stringify(els.DETAILs));
	switch (els.ESV) {
	case EL.GET:
		await EL.replyGetDetail(rinfo, els, devs);
		break;
	case EL.SETC:
	case EL.SETI: {
		const obj = devs[els.DEOJ];
		if (!obj) { // object not on this node: the library drops the request
			await EL.replySetDetail(rinfo, els, devs);
			break;
		}
		// Refuse writes to read-only properties: show the library only the settable
		// ones, it then answers SetC_SNA echoing each refused property.
		const view = {};
		for (const k of SETTABLE) { if (obj[k]) { view[k] = obj[k]; } }
		await EL.replySetDetail(rinfo, els, { [els.DEOJ]: view });
		for (const k of SETTABLE) { if (view[k]) { obj[k] = view[k]; } }
		break;
	}
	default:
		break;
	}
}, 4, { v4: '', ignoreMe: true, autoGetProperties: false, debugMode: false });
log('up');
