// ua_client.js — OPC UA client scenarios built on the npm package node-opcua,
// for tests/gen/real/opcua-npm.sh.  Each scenario is its own connection.
//
// Usage: node ua_client.js URL PKI_DIR SCENARIO...
//   read-unknown    read of ns=1;s=NoSuchNode and ns=1;s=Setpoint  (BadNodeIdUnknown, 1 of 2)
//   browse-unknown  browse of i=85 (Objects) and ns=1;s=NoSuchNode         (BadNodeIdUnknown, 1 of 2)
//   monitor-unknown CreateMonitoredItems on Setpoint, NoSuchNode, Gone       (BadNodeIdUnknown, 2 of 3)
//   write-readonly  write of ns=1;s=SerialNumber                   (BadNotWritable)
//   wrong-password  ActivateSession as operator with a wrong password
//   anonymous       ActivateSession with an anonymous token (refused by policy)
//   unknown-method  Call of ns=1;s=Pump.Stop on ns=1;s=Pump        (no such method)
//   too-many        three sessions at once, the server allows two  (BadTooManySessions)
//   untrusted       SignAndEncrypt with a certificate the server does not trust
//   policy-rejected raw OPN naming SecurityPolicy#Basic128, which the server lacks
//   forged-cert     raw OPN for Basic256Sha256 with a sender certificate that is no certificate
//   bad-type        raw chunk of message type "XYZ" after the HEL
//   encrypted       a SignAndEncrypt session (trusted certificate) reading Setpoint
//   kill-me         Call of ns=1;s=Pump.Start, which the server never answers
'use strict';
const path = require('path');
const opcua = require('node-opcua');

const [ENDPOINT, PKI] = [process.argv[2], process.argv[3]];
const SCENARIOS = process.argv.slice(4);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function log(...a) {
	console.log(new Date().toISOString(), 'client', ...a);
}

// Raw UA TCP, for what node-opcua's client would never send: a HEL, then `next`
// (a Buffer); logs what the server answers, then hangs up.
function raw(next) {
	const net = require('net');
	const u = new URL(ENDPOINT.replace('opc.tcp:', 'http:'));
	return new Promise((resolve) => {
		const sock = net.connect(parseInt(u.port, 10), u.hostname);
		const str = (v) => { const b = Buffer.alloc(4 + Buffer.byteLength(v)); b.writeInt32LE(Buffer.byteLength(v)); b.write(v, 4); return b; };
		const chunk = (type, body) => { const h = Buffer.alloc(8); h.write(type + 'F'); h.writeUInt32LE(8 + body.length, 4); return Buffer.concat([h, body]); };
		const hel = Buffer.alloc(20);
		hel.writeUInt32LE(0, 0);
		[65536, 65536, 0, 0].forEach((v, i) => hel.writeUInt32LE(v, 4 + 4 * i));
		let step = 0;
		sock.on('connect', () => sock.write(chunk('HEL', Buffer.concat([hel, str(ENDPOINT)]))));
		sock.on('data', (d) => {
			log('  server:', d.subarray(0, 3).toString(), d.length >= 12 && d.subarray(0, 3).toString() === 'ERR' ? '0x' + d.readUInt32LE(8).toString(16) : '');
			if (step++ === 0)
				sock.write(next(chunk, str));
		});
		const done = () => { sock.destroy(); resolve(); };
		sock.on('close', done);
		sock.on('error', done);
		setTimeout(done, 3000);
	});
}

const USER = { type: opcua.UserTokenType.UserName, userName: 'operator', password: 'secret' };

async function client(certName, secure, policy) {
	const opts = {
		applicationName: 'x1367-client-' + certName,
		endpointMustExist: false,
		connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
		requestedSessionTimeout: 60000,
		defaultSecureTokenLifetime: 600000,
	};
	if (secure) {
		Object.assign(opts, {
			securityMode: opcua.MessageSecurityMode.SignAndEncrypt,
			securityPolicy: policy || opcua.SecurityPolicy.Basic256Sha256,
			clientCertificateManager: new opcua.OPCUACertificateManager({
				rootFolder: path.join(PKI, certName + '-pki'),
				automaticallyAcceptUnknownCertificate: true,
			}),
		});
	} else {
		Object.assign(opts, { securityMode: opcua.MessageSecurityMode.None, securityPolicy: opcua.SecurityPolicy.None });
	}
	const c = opcua.OPCUAClient.create(opts);
	await c.connect(ENDPOINT);
	return c;
}

async function withSession(identity, fn, certName = 'plain', secure = false, policy = undefined) {
	const c = await client(certName, secure, policy);
	if (identity.type === opcua.UserTokenType.Anonymous) {
		// The server offers no anonymous token policy, and node-opcua's client
		// would not even ask: offer one here, so that the server is the one
		// that refuses.
		const orig = c.createUserIdentityToken;
		c.createUserIdentityToken = function (context, info, cb) {
			const tokens = context.endpoint.userIdentityTokens || [];
			context.endpoint.userIdentityTokens = tokens.concat([new opcua.UserTokenPolicy({
				policyId: 'anonymous', tokenType: opcua.UserTokenType.Anonymous })]);
			return orig.call(this, context, info, cb);
		};
	}
	try {
		const s = await c.createSession(identity);
		try { await fn(s); } finally { await s.close().catch(() => {}); }
	} catch (e) {
		log('  error:', e.message.split('\n')[0]);
	} finally {
		await c.disconnect().catch(() => {});
	}
}

const V = opcua.AttributeIds.Value;

const scenarios = {
	'read-unknown': () => withSession(USER, async (s) => {
		const r = await s.read([{ nodeId: 'ns=1;s=NoSuchNode', attributeId: V }, { nodeId: 'ns=1;s=Setpoint', attributeId: V }]);
		log('  read:', r.map((d) => d.statusCode.name).join(', '));
	}),
	'browse-unknown': () => withSession(USER, async (s) => {
		const r = await s.browse(['i=85', 'ns=1;s=NoSuchNode']);
		log('  browse:', r.map((b) => b.statusCode.name + '/' + (b.references || []).length).join(', '));
	}),
	// Raw service calls: no ClientSubscription, so no Publish requests either.
	'monitor-unknown': () => withSession(USER, async (s) => {
		const sub = await s.createSubscription({ requestedPublishingInterval: 1000, requestedLifetimeCount: 60,
			requestedMaxKeepAliveCount: 10, maxNotificationsPerPublish: 10, publishingEnabled: true, priority: 1 });
		const item = (nodeId, h) => ({ itemToMonitor: { nodeId, attributeId: V }, monitoringMode: opcua.MonitoringMode.Reporting,
			requestedParameters: { clientHandle: h, samplingInterval: 1000, queueSize: 1, discardOldest: true } });
		const r = await s.createMonitoredItems({ subscriptionId: sub.subscriptionId,
			timestampsToReturn: opcua.TimestampsToReturn.Both,
			itemsToCreate: [item('ns=1;s=Setpoint', 1), item('ns=1;s=NoSuchNode', 2), item('ns=1;s=Gone', 3)] });
		log('  monitor:', r.results.map((x) => x.statusCode.name).join(', '));
		await s.deleteSubscriptions({ subscriptionIds: [sub.subscriptionId] });
	}),
	'write-readonly': () => withSession(USER, async (s) => {
		const r = await s.write({ nodeId: 'ns=1;s=SerialNumber', attributeId: V,
			value: { value: { dataType: opcua.DataType.String, value: 'forged' } } });
		log('  write:', r.name);
	}),
	'wrong-password': () => withSession({ ...USER, password: 'guess' }, async () => {}),
	'anonymous': () => withSession({ type: opcua.UserTokenType.Anonymous }, async () => {}),
	'unknown-method': () => withSession(USER, async (s) => {
		const r = await s.call({ objectId: 'ns=1;s=Pump', methodId: 'ns=1;s=Pump.Stop', inputArguments: [] });
		log('  call:', r.statusCode.name);
	}),
	'too-many': async () => {
		const cs = [];
		for (let i = 0; i < 3; i++) {
			const c = await client('plain', false);
			cs.push(c);
			try {
				await c.createSession(USER);
				log('  session', i + 1, 'open');
			} catch (e) {
				log('  session', i + 1, 'refused:', e.message.split('\n')[0]);
			}
		}
		for (const c of cs)
			await c.disconnect().catch(() => {});
	},
	// An OPN naming Basic128, a policy the server does not offer.
	'policy-rejected': () => raw((chunk, str) => {
		const nul = Buffer.from([0xff, 0xff, 0xff, 0xff]);
		const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
		const body = Buffer.concat([
			Buffer.from([0x01, 0x00, 0xbe, 0x01]),           // OpenSecureChannelRequest (446)
			Buffer.from([0x00, 0x00]), Buffer.alloc(8), u32(1), u32(0), nul, u32(10000), Buffer.from([0, 0, 0]),
			u32(0), u32(0), u32(1), nul, u32(600000),        // version, Issue, mode None, nonce, lifetime
		]);
		return chunk('OPN', Buffer.concat([u32(0), str('http://opcfoundation.org/UA/SecurityPolicy#Basic128'),
			nul, nul, u32(1), u32(1), body]));
	}),
	// An OPN for Basic256Sha256 whose sender certificate is no certificate (a
	// forged one, X.1367 Appendix I.2): node-opcua cannot secure its refusal
	// with it, so it answers with an ERR, visible on the wire.
	'forged-cert': () => raw((chunk, str) => {
		const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
		const bytes = (n, seed) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + seed) & 0xff));
		const cert = Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x00]), bytes(256, 11)]);
		return chunk('OPN', Buffer.concat([u32(0), str('http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256'),
			u32(cert.length), cert, u32(20), bytes(20, 5), bytes(256, 77)]));
	}),
	// A chunk of a message type UA TCP does not have.
	'bad-type': () => raw((chunk) => chunk('XYZ', Buffer.alloc(16))),
	'untrusted': () => withSession(USER, async () => {}, 'untrusted', true),
	'encrypted': () => withSession(USER, async (s) => {
		const r = await s.read({ nodeId: 'ns=1;s=Setpoint', attributeId: V });
		log('  read:', r.statusCode.name, r.value.value);
		const r2 = await s.read({ nodeId: 'ns=1;s=NoSuchNode', attributeId: V });
		log('  read unknown (encrypted):', r2.statusCode.name);
	}, 'trusted', true),
	'kill-me': async () => {
		const c = await client('plain', false);
		const s = await c.createSession(USER);
		log('  calling Pump.Start (the server will be killed)');
		s.call({ objectId: 'ns=1;s=Pump', methodId: 'ns=1;s=Pump.Start', inputArguments: [] })
			.then((r) => log('  call answered', r.statusCode.name), (e) => log('  call failed:', e.message.split('\n')[0]));
		await sleep(30000);
		process.exit(0);
	},
};

(async () => {
	for (const name of SCENARIOS) {
		log('scenario', name);
		await scenarios[name]().catch((e) => log('  error:', e.message.split('\n')[0]));
		await sleep(1000);
	}
	process.exit(0);
})();
