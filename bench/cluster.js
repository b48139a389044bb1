// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
// The classic Node.js cluster pattern, for bench/bench_e2e.sh: a primary
// forks N workers (argv[2], default 2), each running the unchanged example
// app (examples/app/server.js) on the one port $PORT. The primary holds the
// listening socket, accepts and hands each connection to a worker, in turn
// (cluster.SCHED_RR, Node's default on Linux). It prints "ready" once every
// worker listens, and exits when a worker dies: a bench must not go on
// with fewer workers than it reports.
'use strict';
const cluster = require('cluster');
const path = require('path');

const app = path.join(__dirname, '..', 'examples', 'app', 'server.js');

if (cluster.isPrimary) {
	const n = Number(process.argv[2] || 2);
	let listening = 0;
	for (let i = 0; i < n; i++) {
		cluster.fork({ WORKER_ID: String(i) });
	}
	cluster.on('listening', () => {
		listening += 1;
		if (listening === n) {
			console.log(`ready: ${n} workers on port ${process.env.PORT}`);
		}
	});
	cluster.on('exit', (worker, code, signal) => {
		console.error(`worker ${worker.process.pid} exited (${signal || code})`);
		process.exit(1);
	});
} else {
	require(app);
}
