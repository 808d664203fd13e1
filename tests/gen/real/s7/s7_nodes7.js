// s7_nodes7.js — another S7 client, npm nodes7 (pure JavaScript, not snap7): one
// read of several tags in one request, one write, against rack 0, slot 2.
// Usage: node s7_nodes7.js ADDRESS
'use strict';
const NodeS7 = require('nodes7');
const conn = new NodeS7({silent: true});
// (An address past the end of an area is left out: nodes7 0.3.18 throws on the
// answer's failed item that follows it, the snap7 client above covers that case.)
const tags = {
	A: 'DB1,INT0',      // exists
	C: 'MB0',           // exists
	B: 'DB5,REAL4',     // no DB5
};
conn.initiateConnection({port: 102, host: process.argv[2], rack: 0, slot: 2}, (err) => {
	if (err !== undefined) {
		console.log('connect failed:', err);
		process.exit(1);
	}
	conn.setTranslationCB((tag) => tags[tag]);
	conn.addItems(Object.keys(tags));
	conn.readAllItems((bad, values) => {
		console.log('read:', bad ? 'some failed' : 'ok', JSON.stringify(values));
		conn.writeItems(['B'], [1.5], (wbad) => {
			console.log('write DB5:', wbad ? 'failed' : 'ok');
			conn.dropConnection(() => process.exit(0));
		});
	});
});
