'use strict';
// A BACnet/IP client (operator workstation) on the npm @bacnet-js/client
// stack.  usage: node client.js DEVICE_IP DEVICE_INSTANCE GONE_IP GONE_INSTANCE
// It prints "KILL <ip>" when the second device is to be taken away and
// waits 2 s: bacnet-npm.sh takes that device off the network meanwhile.
const Bacnet = require('@bacnet-js/client').default;
const E = require('@bacnet-js/client/dist/lib/enum.js');

const [devIp, devInstArg, goneIp, goneInstArg] = process.argv.slice(2);
const devInst = Number(devInstArg);
const goneInst = Number(goneInstArg);
const P = E.PropertyIdentifier;
const OT = E.ObjectType;
const T = E.ApplicationTag;
const RETRIES = 3;   // tries of one request, as Number_Of_APDU_Retries + 1 would be

const client = new Bacnet({ port: 47808, broadcastAddress: '192.0.2.255', apduTimeout: 3000 });
const log = (...a) => console.log(new Date().toISOString(), ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dev = { address: devIp };
const gone = { address: goneIp };

async function step(name, fn) {
	try {
		const r = await fn();
		log(name, 'ok', String(JSON.stringify(r && (r.values || r))).slice(0, 120));
	} catch (e) {
		log(name, 'failed:', e.message);
	}
	await sleep(300);
}

// The library sends a request once; a BACnet client retries (Clause 5.4.2):
// the same request, with the same invoke id, after each APDU timeout.
async function withRetries(name, invokeId, fn) {
	for (let i = 1; i <= RETRIES; i++) {
		try {
			const r = await fn({ invokeId });
			log(name, 'try', i, 'ok', String(JSON.stringify(r)).slice(0, 80));
			return;
		} catch (e) {
			log(name, 'try', i, 'failed:', e.message);
		}
	}
}

async function main() {
	await sleep(500);
	// Before any I-Am: the device is known by its address only.
	await step('readProperty analog-input 99 (no such object)', () => client.readProperty(dev, { type: OT.ANALOG_INPUT, instance: 99 }, P.PRESENT_VALUE));
	const iams = [];
	client.on('iAm', (m) => { iams.push(m.payload.deviceId); log('i-am', m.header.sender.address, JSON.stringify(m.payload)); });
	client.whoIs();
	await sleep(1500);
	log('devices seen:', JSON.stringify(iams));
	await step('readProperty analog-input 1 present-value', () => client.readProperty(dev, { type: OT.ANALOG_INPUT, instance: 1 }, P.PRESENT_VALUE));
	await step('readProperty analog-input 1 vendor-name (no such property)', () => client.readProperty(dev, { type: OT.ANALOG_INPUT, instance: 1 }, P.VENDOR_NAME));
	await step('readProperty analog-input 7 object-name (no such object)', () => client.readProperty(dev, { type: OT.ANALOG_INPUT, instance: 7 }, P.OBJECT_NAME));
	await step('writeProperty analog-input 1 present-value (read-only)', () => client.writeProperty(dev, { type: OT.ANALOG_INPUT, instance: 1 }, P.PRESENT_VALUE, [{ type: T.REAL, value: 30 }], { priority: 8 }));
	await step('writeProperty analog-value 1 present-value', () => client.writeProperty(dev, { type: OT.ANALOG_VALUE, instance: 1 }, P.PRESENT_VALUE, [{ type: T.REAL, value: 19 }], { priority: 8 }));
	await step('readRange trend-log 1 (not implemented)', () => client.readRange(dev, { type: OT.TREND_LOG, instance: 1 }, 1, 10));
	await step('getAlarmSummary (no handler)', () => client.getAlarmSummary(dev));
	await step('readProperty device description, max APDU 128 (needs segments)', () => client.readProperty(dev, { type: OT.DEVICE, instance: devInst }, P.DESCRIPTION, { maxApdu: E.MaxApduLengthAccepted.OCTETS_128 }));
	await step('readProperty device description, max APDU 1476', () => client.readProperty(dev, { type: OT.DEVICE, instance: devInst }, P.DESCRIPTION));
	await step('readProperty second device object-name', () => client.readProperty(gone, { type: OT.DEVICE, instance: goneInst }, P.OBJECT_NAME));
	log(`KILL ${goneIp}`);
	await sleep(2000);
	await withRetries('readProperty analog-input 1 present-value of the gone device', 200,
		(o) => client.readProperty(gone, { type: OT.ANALOG_INPUT, instance: 1 }, P.PRESENT_VALUE, o));
	// Keep talking to the first device past the sensor's 10 s deadline.
	for (let i = 0; i < 4; i++) {
		await sleep(1000);
		await step('readProperty analog-input 1 present-value', () => client.readProperty(dev, { type: OT.ANALOG_INPUT, instance: 1 }, P.PRESENT_VALUE));
	}
	client.close();
	log('done');
	process.exit(0);
}
main();
