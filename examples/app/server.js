// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
// The classic Node.js app: it listens on $PORT. bouncerd starts one per
// worker and steers the VIP's connections to it. The reply names the
// worker, so tests and the demo can count who served.
//
// SIGTERM is what bouncer.conf(5) asks a worker to handle: stop accepting,
// answer every request still to come on an open connection, the ones in
// flight included, with Connection: close, close the connections that stay
// idle for a second, and exit once none is left. bouncerd sends it to a
// worker a reload has replaced, once its connections have ended or its
// drain time is up, and when it stops; SIGKILL follows kill_timeout later.
'use strict';
const http = require('http');
const net = require('net');

const port = Number(process.env.PORT);
const id = process.env.WORKER_ID || '-';
// LOG_REQUESTS=1: a line on stdout per request, as many apps log.
const logRequests = Boolean(process.env.LOG_REQUESTS);

function app(req, res) {
	if (logRequests)
		console.log(`${req.method} ${req.url} from ${req.socket.remoteAddress}`);
	res.setHeader('Content-Type', 'text/plain');
	res.end(`worker ${id} pid ${process.pid}\n`);
}

const server = http.createServer();
let stopping = false;
// Answers not sent yet. Listening ahead of the app, this hook sees each
// request first, and answers given once stopping close their connection.
const inFlight = new Set();
server.on('request', (req, res) => {
	if (stopping)
		res.setHeader('Connection', 'close');
	inFlight.add(res);
	res.on('close', () => inFlight.delete(res));
});
server.on('request', app);
server.listen(port, () => {
	console.log(`listening on ${port}`);
});

process.on('SIGTERM', () => {
	stopping = true;
	for (const res of inFlight)
		if (!res.headersSent)
			res.setHeader('Connection', 'close');
	// No more accepting; the callback runs once every connection is gone.
	// net's close, not http's: from Node 19 on, http's also closes the
	// idle connections at once, and a client that sends its next request
	// on one (without first checking it is still open, as Python's
	// http.client does not) fails. Given a second, a busy client sends
	// that request and gets its Connection: close answer instead.
	net.Server.prototype.close.call(server, () => process.exit(0));
	// Node 18.2 and later.
	setTimeout(() => server.closeIdleConnections(), 1000).unref();
});
