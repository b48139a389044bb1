// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
// The classic Node.js app, unchanged for bouncer: it listens on $PORT.
// bouncerd starts one per worker and steers the VIP's connections to it.
// The reply names the worker, so tests and the demo can count who served.
'use strict';
const http = require('http');

const port = Number(process.env.PORT);
const id = process.env.WORKER_ID || '-';
// LOG_REQUESTS=1: a line on stdout per request, as many apps log.
const logRequests = Boolean(process.env.LOG_REQUESTS);

http.createServer((req, res) => {
	if (logRequests)
		console.log(`${req.method} ${req.url} from ${req.socket.remoteAddress}`);
	res.setHeader('Content-Type', 'text/plain');
	res.end(`worker ${id} pid ${process.pid}\n`);
}).listen(port, () => {
	console.log(`listening on ${port}`);
});
