'use strict';
// A BACnet/IP device on the npm @bacnet-js/client stack: every answer is
// built by the library's own encoders (readPropertyResponse, errorResponse,
// simpleAckResponse, iAmResponse, and its APDU encoder for Abort/Reject).
//
// usage: node device.js IP INSTANCE
//   Objects: device INSTANCE (object-name, vendor-name, description: 300
//   bytes, more than a 128-byte APDU holds), analog-input 1 (read-only
//   present-value, units, object-name), analog-value 1 (writable
//   present-value).  What it refuses, and how:
//   - an object it does not have                Error object/unknown-object
//   - a property its object does not have       Error property/unknown-property
//   - a write to a read-only property           Error property/write-access-denied
//   - ReadRange (it keeps no trend logs)         Reject unrecognized-service
//   - an answer longer than the client's max APDU: this device does not
//     segment (its I-Am says no-segmentation)   Abort segmentation-not-supported
//   - any other confirmed service the library maps and nobody here handles:
//     the library's own answer, Error services/reject-unrecognized-service.
const Bacnet = require('@bacnet-js/client').default;
const E = require('@bacnet-js/client/dist/lib/enum.js');
const baApdu = require('@bacnet-js/client/dist/lib/apdu.js');
const baNpdu = require('@bacnet-js/client/dist/lib/npdu.js');

const [ip, instanceArg] = process.argv.slice(2);
const instance = Number(instanceArg);
const P = E.PropertyIdentifier;
const T = E.ApplicationTag;
const OT = E.ObjectType;

const str = (s) => ({ type: T.CHARACTER_STRING, value: s });
const objects = {
	[`${OT.DEVICE}:${instance}`]: {
		[P.OBJECT_IDENTIFIER]: { type: T.OBJECTIDENTIFIER, value: { type: OT.DEVICE, instance } },
		[P.OBJECT_NAME]: str(`bac-device-${instance}`),
		[P.VENDOR_NAME]: str('x1367ids test bench'),
		[P.DESCRIPTION]: str('Air handling unit 3, east wing: supply fan, return fan, ' +
			'heating and cooling coils, mixed air dampers, filter differential pressure ' +
			'switch, freeze stat and smoke detector; commissioned 2024, controller firmware ' +
			'2.4.1, maintenance contract with the building owner, see the O&M manual.'),
	},
	[`${OT.ANALOG_INPUT}:1`]: {
		[P.OBJECT_NAME]: str('supply-air-temperature'),
		[P.PRESENT_VALUE]: { type: T.REAL, value: 21.5 },
		[P.UNITS]: { type: T.ENUMERATED, value: 62 },   // degrees-celsius
	},
	[`${OT.ANALOG_VALUE}:1`]: {
		[P.OBJECT_NAME]: str('supply-air-setpoint'),
		[P.PRESENT_VALUE]: { type: T.REAL, value: 18.0 },
	},
};
const writable = new Set([`${OT.ANALOG_VALUE}:1/${P.PRESENT_VALUE}`]);
const apduOctets = [50, 128, 206, 480, 1024, 1476];

// Bound to every address (its namespace has one), so that it hears broadcasts.
const dev = new Bacnet({ port: 47808, broadcastAddress: '192.0.2.255', apduTimeout: 3000 });
const log = (...a) => console.log(new Date().toISOString(), ...a);

function abort(receiver, invokeId, reason) {
	const buffer = dev._getApduBuffer(receiver);
	baNpdu.encode(buffer, E.NpduControlPriority.NORMAL_MESSAGE, receiver);
	baApdu.encodeAbort(buffer, E.PduType.ABORT | 1 /* sent by server */, invokeId, reason);
	dev.sendBvlc(receiver, buffer);
}

// A Reject PDU has the Abort PDU's layout (type, invoke id, reason).
function reject(receiver, invokeId, reason) {
	const buffer = dev._getApduBuffer(receiver);
	baNpdu.encode(buffer, E.NpduControlPriority.NORMAL_MESSAGE, receiver);
	baApdu.encodeAbort(buffer, E.PduType.REJECT, invokeId, reason);
	dev.sendBvlc(receiver, buffer);
}

dev.on('whoIs', (msg) => {
	const { lowLimit, highLimit } = msg.payload || {};
	if (lowLimit !== undefined && (instance < lowLimit || instance > highLimit)) return;
	log('who-is from', msg.header.sender.address, '-> i-am');
	dev.iAmResponse(null, instance, E.Segmentation.NO_SEGMENTATION, 260);
});

dev.on('readProperty', (msg) => {
	const who = msg.header.sender;
	const { objectId, property } = msg.payload;
	const obj = objects[`${objectId.type}:${objectId.instance}`];
	log('readProperty', objectId, property.id, 'invoke', msg.invokeId);
	if (!obj) return dev.errorResponse(who, E.ConfirmedServiceChoice.READ_PROPERTY, msg.invokeId, E.ErrorClass.OBJECT, E.ErrorCode.UNKNOWN_OBJECT);
	if (!(property.id in obj)) return dev.errorResponse(who, E.ConfirmedServiceChoice.READ_PROPERTY, msg.invokeId, E.ErrorClass.PROPERTY, E.ErrorCode.UNKNOWN_PROPERTY);
	// Encode first: an answer longer than the client takes needs segments,
	// which this device does not send.
	const probe = dev._getApduBuffer(who);
	const start = probe.offset;
	baApdu.encodeComplexAck(probe, E.PduType.COMPLEX_ACK, E.ConfirmedServiceChoice.READ_PROPERTY, msg.invokeId);
	require('@bacnet-js/client/dist/lib/services/ReadProperty.js').default.encodeAcknowledge(probe, objectId, property.id, property.index, [obj[property.id]]);
	if (probe.offset - start > apduOctets[msg.maxApdu]) {
		log(' -> abort segmentation-not-supported', probe.offset - start, '>', apduOctets[msg.maxApdu]);
		return abort(who, msg.invokeId, E.AbortReason.SEGMENTATION_NOT_SUPPORTED);
	}
	dev.readPropertyResponse(who, msg.invokeId, objectId, property, [obj[property.id]]);
});

dev.on('writeProperty', (msg) => {
	const who = msg.header.sender;
	const { objectId, value } = msg.payload;
	const key = `${objectId.type}:${objectId.instance}`;
	log('writeProperty', key, value.property.id, 'invoke', msg.invokeId);
	if (!objects[key]) return dev.errorResponse(who, E.ConfirmedServiceChoice.WRITE_PROPERTY, msg.invokeId, E.ErrorClass.OBJECT, E.ErrorCode.UNKNOWN_OBJECT);
	if (!(value.property.id in objects[key])) return dev.errorResponse(who, E.ConfirmedServiceChoice.WRITE_PROPERTY, msg.invokeId, E.ErrorClass.PROPERTY, E.ErrorCode.UNKNOWN_PROPERTY);
	if (!writable.has(`${key}/${value.property.id}`)) return dev.errorResponse(who, E.ConfirmedServiceChoice.WRITE_PROPERTY, msg.invokeId, E.ErrorClass.PROPERTY, E.ErrorCode.WRITE_ACCESS_DENIED);
	objects[key][value.property.id] = value.value[0];
	dev.simpleAckResponse(who, E.ConfirmedServiceChoice.WRITE_PROPERTY, msg.invokeId);
});

dev.on('readRange', (msg) => {
	log('readRange: not implemented -> reject', 'invoke', msg.invokeId);
	reject(msg.header.sender, msg.invokeId, E.RejectReason.UNRECOGNIZED_SERVICE);
});

dev.on('listening', () => log(`listening on ${ip}:47808 as device ${instance}`));
process.on('SIGTERM', () => { dev.close(); process.exit(0); });
