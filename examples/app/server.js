// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
// The classic Node.js app, unchanged for bouncer: it listens on $PORT.
// bouncerd starts one per worker and steers the VIP's connections to it.
// The reply names the worker, so tests and the demo can count who served.
'use strict';
const http = require('http');

const port = Number(process.env.PORT);
const id = process.env.WORKER_ID || '-';

http.createServer((req, res) => {
	res.setHeader('Content-Type', 'text/plain');
	res.end(`worker ${id} pid ${process.pid}\n`);
}).listen(port, () => {
	console.log(`listening on ${port}`);
});
