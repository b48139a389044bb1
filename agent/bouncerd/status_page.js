// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
// bouncerd's status page: fetches /status.json every second and draws it.
// Read-only. Every name (VIPs, errors, commands) reaches the document as a
// text node (textContent), never as markup, so a name like
// <img/src=x/onerror=...> shows as itself and runs nothing.
"use strict";

(function () {
	const SVG = "http://www.w3.org/2000/svg";
	let refreshMs = 1000;
	let failures = 0;

	// An element with a class and text, and children appended.
	function el(tag, cls, text, ...children) {
		const e = document.createElement(tag);
		if (cls)
			e.className = cls;
		if (text !== undefined && text !== null)
			e.textContent = String(text);
		for (const c of children)
			e.append(c);
		return e;
	}

	function si(n, unit) {
		if (!isFinite(n))
			return "–";
		const steps = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];
		for (const [f, p] of steps)
			if (Math.abs(n) >= f)
				return (n / f).toFixed(n / f >= 100 ? 0 : 1) + " " + p + unit;
		return (n >= 100 || n === 0 ? n.toFixed(0) : n.toFixed(1)) + " " + unit;
	}

	function pct(x) {
		return isFinite(x) ? (100 * x).toFixed(1) + "%" : "–";
	}

	function duration(s) {
		if (!(s > 0))
			return "–";
		if (s < 120)
			return s + " s";
		if (s < 7200)
			return Math.floor(s / 60) + " min";
		if (s < 172800)
			return Math.floor(s / 3600) + " h";
		return Math.floor(s / 86400) + " d";
	}

	// A state shown as a word on a coloured tag; cls picks the colour.
	function stateTag(word, cls) {
		const t = el("span", "state " + cls, word);
		t.dataset.state = cls;
		return t;
	}

	// A bar filled to fraction x (0..1), with the figure after it.
	function bar(x, kind) {
		const fill = el("span");
		fill.style.width = Math.max(0, Math.min(1, x || 0)) * 100 + "%";
		return el("td", "barcell", null, el("span", "bar " + kind, null, fill), pct(x));
	}

	function sparkline(label, values, unit) {
		const w = 220, h = 40;
		const svg = document.createElementNS(SVG, "svg");
		svg.setAttribute("viewBox", "0 0 " + w + " " + h);
		svg.setAttribute("role", "img");
		svg.setAttribute("aria-label", label + ", last " + values.length + " s");
		const max = Math.max(1e-9, ...values);
		if (values.length > 1) {
			const line = document.createElementNS(SVG, "polyline");
			const pts = values.map((v, i) =>
				((i * w) / (values.length - 1)).toFixed(1) + "," +
				(h - 2 - (v / max) * (h - 4)).toFixed(1));
			line.setAttribute("points", pts.join(" "));
			svg.append(line);
		}
		const last = values.length ? values[values.length - 1] : NaN;
		return el("div", "chart", null,
			el("span", null, label + " "), el("b", null, si(last, unit)),
			el("span", null, " (max " + si(values.length ? max : NaN, unit) + ")"), svg);
	}

	// A worker's state as the page words it: an exited worker is dead
	// until it is back, whatever the pool calls the wait.
	function workerState(w) {
		switch (w.state) {
		case "ready":
			return ["up", "up"];
		case "backoff":
			return ["dead, restarting", "dead"];
		case "failed":
			return ["dead, failed", "failed"];
		case "starting":
			return ["starting", "starting"];
		default:
			return [w.state, w.state];
		}
	}

	function backendKey(vip, b) {
		return b.local ? vip + "\u0000worker\u0000" + b.worker.id
			: vip + "\u0000" + b.address + "\u0000" + b.port;
	}

	function backendName(b) {
		if (b.local)
			return "worker " + b.worker.id;
		return (b.address.includes(":") ? "[" + b.address + "]" : b.address) + ":" + b.port;
	}

	function backendRow(vip, b, st, w, vipFps) {
		const tr = el("tr");
		tr.dataset.backend = backendName(b);
		let health;
		if (b.local) {
			const [word, cls] = workerState(w || b.worker);
			health = stateTag(word, cls);
		} else {
			health = stateTag(b.health, b.health);
			if (b.health === "down" && b.last_error)
				health.title = b.last_error;
		}
		const admin = stateTag(b.admin, b.admin === "ready" ? "ready-admin" : b.admin);
		const fps = st ? st.fps : b.fps;
		tr.append(
			el("td", "name", backendName(b)),
			el("td", null, null, health),
			el("td", null, null, admin),
			el("td", "num", b.weight),
			bar(st ? st.share : NaN, "ring"),
			bar(vipFps > 0 ? fps / vipFps : 0, "flows"),
			el("td", "num placed", b.new_flows),
			el("td", "num", si(fps, "/s")),
			el("td", "num", si(b.pps, "pps")),
			el("td", "num pid", b.local ? (w ? w.pid : b.worker.pid) || "–" : ""),
			el("td", "num", b.local && w ? duration(w.uptime_s) : ""),
			el("td", "num restarts", b.local ? (w ? w.restarts : b.worker.restarts) : ""),
			el("td", "err", b.health === "down" ? b.last_error || "" : ""));
		return tr;
	}

	function vipCard(v, s) {
		const card = el("section", "vip");
		card.dataset.vip = v.name;
		const backends = (s.backends && s.backends.backends || []).filter((b) => b.vip === v.name);
		const stats = new Map();
		for (const b of (s.stats && s.stats.backends) || [])
			if (b.vip === v.name)
				stats.set(backendKey(b.vip, b), b);
		const workers = new Map();
		for (const wv of (s.workers && s.workers.vips) || [])
			if (wv.vip === v.name)
				for (const w of wv.workers)
					workers.set(w.id, w);
		const hist = ((s.history && s.history.vips) || []).find((h) => h.name === v.name) ||
			{ pps: [], bps: [], fps: [] };
		let vipFps = 0;
		for (const b of backends) {
			const st = stats.get(backendKey(v.name, b));
			vipFps += st ? st.fps : b.fps;
		}

		const title = el("h2", null, null, el("span", "vipname", v.name),
			el("span", "muted", v.protocol + " " +
				(v.address.includes(":") ? "[" + v.address + "]" : v.address) + ":" + v.port),
			el("span", "muted", "forwarding " + v.forwarding + ", hash " + v.hash +
				", ring " + v.ring_size),
			el("span", "muted", v.backends_up + " of " + v.backends_total + " up"));
		if (v.failing_open)
			title.append(stateTag("failing open", "fail-open"));
		if (v.announced)
			title.append(el("span", "muted", "announced"));
		card.append(title);
		card.append(el("div", "charts", null,
			sparkline("new flows", hist.fps, "/s"),
			sparkline("packets", hist.pps, "pps"),
			sparkline("bits", hist.bps, "bps")));

		const head = el("tr");
		for (const h of ["backend", "health", "admin", "weight", "ring share",
			"new-flow share", "placed", "flows/s", "packets/s", "pid", "uptime",
			"restarts", "last error"])
			head.append(el("th", null, h));
		const body = el("tbody");
		for (const b of backends)
			body.append(backendRow(v.name, b, stats.get(backendKey(v.name, b)),
				b.local ? workers.get(b.worker.id) : null, vipFps));
		// Scrolls inside the card on a narrow window.
		card.append(el("div", "tablewrap", null,
			el("table", null, null, el("thead", null, null, head), body)));
		return card;
	}

	function overview(s) {
		const box = document.getElementById("overview");
		const figs = [];
		const st = s.status || {};
		const ft = s.stats && s.stats.flow_table;
		if (ft) {
			const used = ft.ipv4 + ft.ipv6, size = ft.size_ipv4 + ft.size_ipv6;
			const fill = el("span");
			fill.style.width = (size ? (100 * used) / size : 0) + "%";
			figs.push(el("div", "figure", null, el("span", null, "flow table"),
				el("b", null, used + " of " + size),
				el("span", "bar", null, fill), pct(size ? used / size : 0)));
		}
		if (st.host)
			figs.push(el("div", "figure", null, el("span", null, "host"),
				el("b", null, null, stateTag(st.host.state,
					st.host.state === "ready" ? "up" : "draining")),
				el("span", null, si(st.host.pps, "pps"))));
		const g = s.stats && s.stats.global;
		if (g)
			figs.push(el("div", "figure", null, el("span", null, "flow look-ups"),
				el("b", null, (g.flow_hit || 0) + (g.flow_cache_hit || 0) + " hit"),
				el("span", null, (g.flow_miss || 0) + " new")));
		box.replaceChildren(...figs);
		document.getElementById("agent").textContent = st.version
			? "agent " + st.version + ", up " + duration(st.uptime_s) + ", " + st.vips +
			  " VIPs, " + st.backends + " backends"
			: "";
	}

	function events(list) {
		const ol = document.getElementById("events");
		ol.replaceChildren(...list.map((e) => {
			const when = new Date(e.t * 1000);
			const t = el("time", null, when.toLocaleTimeString());
			t.dateTime = when.toISOString();
			const li = el("li", null, null, t, el("span", "kind", e.kind), e.text);
			li.dataset.kind = e.kind;
			return li;
		}));
	}

	function render(s) {
		overview(s);
		const vips = (s.vips && s.vips.vips) || [];
		document.getElementById("vips").replaceChildren(...vips.map((v) => vipCard(v, s)));
		events(s.events || []);
		const upd = document.getElementById("updated");
		upd.textContent = "updated " + new Date().toLocaleTimeString();
		upd.dataset.generated = s.generated_ms;
	}

	function showError(text) {
		const e = document.getElementById("error");
		e.textContent = text;
		e.hidden = !text;
	}

	async function poll() {
		try {
			const r = await fetch("/status.json", { cache: "no-store" });
			if (!r.ok)
				throw new Error("HTTP " + r.status);
			const s = await r.json();
			if (s.refresh_ms >= 250)
				refreshMs = s.refresh_ms;
			render(s);
			failures = 0;
			showError("");
		} catch (err) {
			failures++;
			showError("cannot reach the agent (" + err.message + "); the figures are " +
				"from the last answer");
		}
		// Slower while the agent does not answer.
		setTimeout(poll, refreshMs * Math.min(10, 1 + failures));
	}

	poll();
})();
