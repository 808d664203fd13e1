// ua_server.js — OPC UA server built on the npm package node-opcua, for
// tests/gen/real/opcua-npm.sh.
//
// Usage: node ua_server.js PKI_DIR
//
//   port 4840, endpoints: SecurityPolicy None (mode None) and Basic256Sha256
//   (SignAndEncrypt); user "operator"/"secret" only, anonymous refused; at most
//   2 sessions; client certificates not in PKI_DIR/trusted are refused.
//   ns=1;s=Setpoint       Double, read-write
//   ns=1;s=SerialNumber   String, read-only
//   ns=1;s=Pump           object with one method ns=1;s=Pump.Start, which takes
//                         60 s to answer (the generator kills the server meanwhile)
'use strict';
const path = require('path');
const opcua = require('node-opcua');

const PKI = process.argv[2];

function log(...a) {
	console.log(new Date().toISOString(), 'server', ...a);
}

(async () => {
	const serverCertificateManager = new opcua.OPCUACertificateManager({
		rootFolder: path.join(PKI, 'server-pki'),
		automaticallyAcceptUnknownCertificate: false,
	});
	await serverCertificateManager.initialize();
	const server = new opcua.OPCUAServer({
		port: 4840,
		hostname: process.env.UA_HOST,
		resourcePath: '/ua',
		serverCertificateManager,
		securityPolicies: [opcua.SecurityPolicy.None, opcua.SecurityPolicy.Basic256Sha256],
		securityModes: [opcua.MessageSecurityMode.None, opcua.MessageSecurityMode.SignAndEncrypt],
		allowAnonymous: false,
		maxConnectionsPerEndpoint: 20,
		serverCapabilities: { maxSessions: 2 },
		userManager: {
			isValidUser: (user, password) => user === 'operator' && password === 'secret',
		},
	});
	await server.initialize();
	const ns = server.engine.addressSpace.getOwnNamespace();
	const objects = server.engine.addressSpace.rootFolder.objects;
	const dev = ns.addObject({ organizedBy: objects, browseName: 'Device', nodeId: 's=Device' });
	let setpoint = 21.5;
	ns.addVariable({
		componentOf: dev, browseName: 'Setpoint', nodeId: 's=Setpoint', dataType: 'Double',
		accessLevel: 'CurrentRead | CurrentWrite', userAccessLevel: 'CurrentRead | CurrentWrite',
		value: {
			get: () => new opcua.Variant({ dataType: opcua.DataType.Double, value: setpoint }),
			set: (v) => { setpoint = v.value; return opcua.StatusCodes.Good; },
		},
	});
	ns.addVariable({
		componentOf: dev, browseName: 'SerialNumber', nodeId: 's=SerialNumber', dataType: 'String',
		accessLevel: 'CurrentRead', userAccessLevel: 'CurrentRead',
		value: { get: () => new opcua.Variant({ dataType: opcua.DataType.String, value: 'SN-0042' }) },
	});
	const pump = ns.addObject({ organizedBy: objects, browseName: 'Pump', nodeId: 's=Pump' });
	const start = ns.addMethod(pump, { browseName: 'Start', nodeId: 's=Pump.Start' });
	start.bindMethod((inputArguments, context, callback) => {
		log('Pump.Start called: answering in 60 s');
		setTimeout(() => callback(null, { statusCode: opcua.StatusCodes.Good }), 60000);
	});
	await server.start();
	log('listening', server.getEndpointUrl());
})().catch((e) => { log('error', e); process.exit(1); });
