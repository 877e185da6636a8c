// The devise page: plain JavaScript over the JSON API of `devise serve` (docs/web.md).
// Every view's state lives in the URL's query string, so a view can be reloaded or shared.
"use strict";

(() => {
  const config = JSON.parse(document.querySelector('meta[name="devise-config"]').content || "{}");
  const $ = (selector) => document.querySelector(selector);
  const VIEWS = ["search", "similar", "walk", "map", "dedupe", "indexes"];
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                   "#bcbd22", "#17becf"];
  const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];  // viridis anchors
  let state = {};
  let indexList = [];
  let serial = 0;  // answers to superseded requests are dropped
  let walkTimer = null;

  // ---- the URL -------------------------------------------------------------------------------------------
  function readUrl() {
    const found = {};
    for (const [key, value] of new URLSearchParams(location.search)) if (value !== "") found[key] = value;
    if (!VIEWS.includes(found.view)) found.view = "search";
    return found;
  }

  function go(changes, push = true) {
    const next = { index: state.index, ...changes };
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(next)) if (value !== undefined && value !== null && value !== "") query.set(key, value);
    const url = "?" + query.toString();
    if (push && url !== location.search) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
    state = readUrl();
    render();
  }

  const currentIndex = () => state.index || config.index || (indexList.find((i) => i.default) || {}).name || "";

  // ---- talking to the server -----------------------------------------------------------------------------
  async function answerOf(response) {
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
    return body;
  }

  function getJson(path, params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) if (value !== undefined && value !== null && value !== "") query.set(key, value);
    return fetch(`${path}?${query}`, { headers: { Accept: "application/json" } }).then(answerOf);
  }

  function post(path, body) {
    const headers = { "X-Devise-Token": config.token, Accept: "application/json" };
    if (!(body instanceof FormData)) headers["Content-Type"] = "application/json";
    return fetch(path, { method: "POST", headers, body: body instanceof FormData ? body : JSON.stringify(body) })
      .then(answerOf);
  }

  // {path: {id, class, label}} and the index version, for thumbnails and captions.
  async function describe(paths) {
    if (!paths.length) return { byPath: {}, version: "" };
    const found = await post("/api/items", { index: currentIndex(), paths });
    const byPath = {};
    for (const item of found.items) byPath[item.path] = item;
    return { byPath, version: found.version, index: found.index };
  }

  const thumbUrl = (id, version, index, size) => `/thumb/${id}?${new URLSearchParams({
    index: index || currentIndex(), ...(version ? { v: version } : {}), ...(size ? { size } : {}) })}`;

  // ---- small pieces of page ------------------------------------------------------------------------------
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "class") node.className = value;
      else if (key === "style") Object.assign(node.style, value);  // CSSOM: the CSP refuses style attributes
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null) node.setAttribute(key, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  const shortName = (path) => path.split("/").slice(-2).join("/");

  function showError(message) {
    const box = $("#error");
    box.textContent = message;
    box.hidden = false;
  }

  function clearError() { $("#error").hidden = true; $("#error").textContent = ""; }

  function card(path, info, version, extra = {}) {
    const label = info && (info.label || info.class);
    const id = info ? info.id : null;
    const img = id === null || id === undefined ? el("div", { class: "missing" }, "not in the index")
      : el("img", { src: thumbUrl(id, version), alt: shortName(path), loading: "lazy", title: path });
    const actions = id === null || id === undefined ? null : el("span", { class: "actions" },
      el("button", { type: "button", class: "similar", onclick: () => go({ view: "similar", id }) }, "similar"),
      el("button", { type: "button", class: "walk-here", onclick: () => go({ view: "walk", id }) }, "walk"));
    return el("figure", { class: "card" + (extra.kept ? " kept" : ""), "data-path": path, "data-id": id },
      img,
      el("figcaption", {},
        extra.badge ? el("span", { class: "badge" }, extra.badge) : null,
        extra.score !== undefined ? el("span", { class: "score" }, extra.score.toFixed(3)) : null,
        el("span", { class: "name", title: path }, shortName(path)),
        label ? el("span", { class: "label" }, label) : null,
        actions));
  }

  async function showHits(results, grid) {
    const { byPath, version } = await describe(results.map((hit) => hit.path));
    grid.replaceChildren(...results.map((hit) => card(hit.path, byPath[hit.path], version, { score: hit.score })));
  }

  function setStatus(id, text) { $(id).textContent = text; }

  // ---- views ---------------------------------------------------------------------------------------------
  // With no query yet, the page shows the collection itself: a short nearest-neighbour walk (varied, and
  // each image beside its look-alikes) and the classes or labels seen in it as queries to click.
  async function showStart(ticket) {
    setStatus("#search-status", "loading a first look at the index…");
    const found = await getJson("/api/walk", { index: state.index, limit: 24 });
    if (ticket !== serial) return;
    const { byPath, version } = await describe(found.order);
    $("#results").replaceChildren(...found.order.map((path) => card(path, byPath[path], version)));
    const names = [...new Set(found.order.map((path) => byPath[path] && (byPath[path].label || byPath[path].class))
      .filter(Boolean).map((name) => name.replace(/_/g, " ").toLowerCase()))].slice(0, 8);
    const examples = names.length ? names : ["cat sofa", "beach + sunset - people", "dog:2 snow"];
    const status = $("#search-status");
    status.replaceChildren(`${found.images} images in index ${found.index}; type words to search, or try `,
      ...examples.flatMap((q, i) => [i ? " · " : "", el("a", { href: "#", class: "example",
        onclick: (event) => { event.preventDefault(); go({ view: "search", q }); } }, q)]));
  }

  async function viewSearch(ticket) {
    $("#q").value = state.q || "";
    $("#filter").value = state.filter || "";
    $("#top").value = state.top || 24;
    $("#feedback").checked = !["0", "false", "no", "off"].includes(String(state.feedback || "").toLowerCase());
    if (!state.q) { await showStart(ticket); return; }
    setStatus("#search-status", "searching…");
    $("#results").replaceChildren();  // a failed search must not leave the previous page's images under its error
    const found = await getJson("/api/search", { q: state.q, index: state.index, top: $("#top").value, filter: state.filter,
                                                 feedback: state.feedback });
    if (ticket !== serial) return;
    await showHits(found.results, $("#results"));
    const nothing = found.weak ? "nothing" : "for some things, nothing";
    const absent = found.absent_kinds || {};
    const inWords = (found.weak_terms || []).filter((t) => !(t in absent));
    const weak = (inWords.length
      ? ` (${nothing} here matches ${inWords.map((t) => `“${t}”`).join(", ")}`
        + " better than unrelated words do: these are only the nearest)" : "")
      + (Object.keys(absent).length
        ? ` (${nothing} here shows ${Object.entries(absent).map(([t, kind]) => `“${t}”${kind === t ? "" : ` (${kind})`}`).join(", ")}`
          + ": the backbone sees too little of it in any image; these are only the nearest)" : "");
    const kinds = Object.entries(found.nearest_kinds || {})
      .map(([thing, kind]) => ` (“${thing}” is ranked by its nearest kind, ${kind})`).join("");
    setStatus("#search-status", found.results.length
      ? `${found.results.length} results for “${found.query}” in index ${found.index}${found.filter ? ` [${found.filter}]` : ""}${weak}${kinds}`
      : `no results: no image in index ${found.index} matches${found.filter ? ` the filter ${found.filter}` : ""}.`);
  }

  async function viewSimilar(ticket) {
    $("#similar-filter").value = state.filter || "";
    if (state.id === undefined) {
      if (!$("#similar-results").children.length) setStatus("#similar-status", "Upload an image, or click “similar” on a result.");
      return;
    }
    const query = $("#similar-query");
    query.src = thumbUrl(state.id);
    query.hidden = false;
    setStatus("#similar-status", "looking…");
    const params = { id: state.id, index: state.index, top: 24, filter: state.filter };
    const [found, tags] = await Promise.all([getJson("/api/similar", params),
                                             getJson("/api/tag", { id: state.id, index: state.index, top: 10 })]);
    if (ticket !== serial) return;
    showTags(tags);
    await showHits(found.results, $("#similar-results"));
    setStatus("#similar-status", `${found.results.length} images like ${shortName(found.query)}`);
  }

  function showTags(tags) {
    const list = tags.images.length ? tags.images[0].tags : [];
    $("#tags").replaceChildren(...list.map((t) => el("li", { title: `cosine ${t.cosine.toFixed(3)}` },
      el("b", {}, t.word), ` ${t.score.toFixed(3)}`)));
  }

  async function upload(file) {
    clearError();
    if (!file) return;
    if (file.size > config.maxUploadMb * 1048576) { showError(`${file.name}: larger than ${config.maxUploadMb} MB, this server's limit.`); return; }
    go({ view: "similar", filter: $("#similar-filter").value });
    const ticket = serial;
    const query = $("#similar-query");
    query.src = URL.createObjectURL(file);
    query.hidden = false;
    setStatus("#similar-status", `embedding ${file.name}… (the first upload loads the image model)`);
    const form = (fields) => {
      const data = new FormData();
      data.append("image", file, file.name);
      for (const [key, value] of Object.entries(fields)) if (value) data.append(key, value);
      return data;
    };
    try {
      const found = await post("/api/similar", form({ index: currentIndex(), top: 24, filter: state.filter }));
      const tags = await post("/api/tag", form({ index: currentIndex(), top: 10 }));
      if (ticket !== serial) return;
      showTags(tags);
      await showHits(found.results, $("#similar-results"));
      setStatus("#similar-status", `${found.results.length} images like ${found.query}`);
    } catch (e) {
      setStatus("#similar-status", "");
      showError(e.message);
    }
  }

  function stopWalk() { if (walkTimer) clearInterval(walkTimer); walkTimer = null; $("#walk-play").textContent = "Play"; }

  function showFrame(frames, i) {
    const frame = frames[i];
    $("#walk-slider").value = i;
    const strip = $("#walk-strip").children;
    for (let j = 0; j < strip.length; j++) strip[j].classList.toggle("now", j === i);
    if (strip[i]) strip[i].scrollIntoView({ block: "nearest" });
    $("#walk-frame").src = frame.src;
    $("#walk-frame").alt = shortName(frame.path);
    setStatus("#walk-caption", `${i + 1} / ${frames.length} · ${shortName(frame.path)}`);
    for (const ahead of frames.slice(i + 1, i + 4)) if (!ahead.loaded) { new Image().src = ahead.src; ahead.loaded = true; }
  }

  function playWalk(frames) {
    stopWalk();
    $("#walk-play").textContent = "Pause";
    walkTimer = setInterval(() => {
      const next = Number($("#walk-slider").value) + 1;
      if (next >= frames.length) { stopWalk(); return; }
      showFrame(frames, next);
    }, 1000 / Number($("#walk-fps").value));
  }

  async function viewWalk(ticket) {
    stopWalk();
    $("#walk-start").value = state.start || "";
    $("#walk-filter").value = state.filter || "";
    $("#walk-limit").value = state.limit || 60;
    $("#walk-space").value = state.space || "features";
    const from = $("#walk-from");
    from.hidden = state.id === undefined;
    if (!from.hidden) from.replaceChildren(`from image #${state.id} `, el("button", { type: "button", onclick: () => go({ ...state, id: undefined }) }, "×"));
    setStatus("#walk-status", "walking…");
    const found = await getJson("/api/walk", { index: state.index, start: state.start, id: state.id, filter: state.filter,
                                               limit: $("#walk-limit").value, space: $("#walk-space").value });
    if (ticket !== serial) return;
    const { byPath, version } = await describe(found.order);
    const frames = found.order.map((path) => ({ path, id: byPath[path].id, src: thumbUrl(byPath[path].id, version, null, 512) }));
    $("#walk-player").hidden = false;
    $("#walk-strip").replaceChildren(...frames.map((frame, i) => el("img", {
      src: thumbUrl(frame.id, version), alt: shortName(frame.path), title: `${i + 1}: ${frame.path}`, loading: "lazy",
      onclick: () => { stopWalk(); showFrame(frames, i); } })));
    const slider = $("#walk-slider");
    slider.max = frames.length - 1;
    slider.oninput = () => { stopWalk(); showFrame(frames, Number(slider.value)); };
    $("#walk-play").onclick = () => {
      if (walkTimer) { stopWalk(); return; }
      if (Number(slider.value) >= frames.length - 1) showFrame(frames, 0);
      playWalk(frames);
    };
    $("#walk-fps").onchange = () => { if (walkTimer) playWalk(frames); };
    showFrame(frames, 0);
    setStatus("#walk-status", `walked ${found.visited} of ${found.images} images in ${found.space} space: length ` +
      `${found.tour_length.toFixed(2)} vs ${found.random_length.toFixed(2)} for a random order (${found.ratio.toFixed(2)}×)`);
    playWalk(frames);
  }

  function ramp(t) {
    const x = Math.min(Math.max(t, 0), 1) * (RAMP.length - 1);
    const i = Math.min(Math.floor(x), RAMP.length - 2), f = x - i;
    return `rgb(${RAMP[i].map((a, c) => Math.round(a + (RAMP[i + 1][c] - a) * f)).join(",")})`;
  }

  function colours(points) {
    const values = points.map((p) => p.value);
    const numbers = values.filter((v) => typeof v === "number");
    const legend = $("#map-legend");
    if (values.every((v) => v === null)) { legend.replaceChildren(); return values.map(() => "#8899aa"); }
    if (numbers.length) {
      const lo = Math.min(...numbers), hi = Math.max(...numbers);
      legend.replaceChildren(el("li", {}, el("span", { class: "swatch ramp" }), ` ${lo.toFixed(3)} – ${hi.toFixed(3)}`));
      return values.map((v) => (typeof v === "number" ? ramp(hi > lo ? (v - lo) / (hi - lo) : 0.5) : "#c8c8c8"));
    }
    const counts = {};
    for (const v of values) counts[v] = (counts[v] || 0) + 1;
    const names = Object.keys(counts).sort((a, b) => counts[b] - counts[a] || a.localeCompare(b));
    const colour = {};
    names.forEach((name, i) => { colour[name] = i < PALETTE.length ? PALETTE[i] : "#aaaaaa"; });
    legend.replaceChildren(...names.slice(0, PALETTE.length).map((name) =>
      el("li", {}, el("span", { class: "swatch", style: { background: colour[name] } }), ` ${name} (${counts[name]})`)),
      ...(names.length > PALETTE.length ? [el("li", {}, el("span", { class: "swatch", style: { background: "#aaaaaa" } }), " others")] : []));
    return values.map((v) => colour[v]);
  }

  async function viewMap(ticket) {
    $("#map-color").value = state.color !== undefined ? state.color : "";
    $("#map-filter").value = state.filter || "";
    $("#map-space").value = state.space || "features";
    setStatus("#map-status", "laying out the map…");
    const found = await getJson("/api/map", { index: state.index, filter: state.filter, color_by: state.color, space: state.space });
    if (ticket !== serial) return;
    const canvas = $("#map-canvas"), pad = 24, draw = canvas.getContext("2d");
    const version = (indexList.find((i) => i.name === found.index) || {}).version;
    const at = (p) => [pad + p.x * (canvas.width - 2 * pad), pad + (1 - p.y) * (canvas.height - 2 * pad)];
    const fill = colours(found.points);
    const asThumbs = !found.color_by && found.points.length <= 400;
    draw.clearRect(0, 0, canvas.width, canvas.height);
    found.points.forEach((p, i) => {
      const [x, y] = at(p);
      draw.fillStyle = fill[i];
      draw.beginPath();
      draw.arc(x, y, found.points.length > 2000 ? 2 : 4, 0, 2 * Math.PI);
      draw.fill();
    });
    $("#map-thumbs").replaceChildren(...(asThumbs ? gridded(found.points, at, canvas) .map(({ p, left, top }) =>
      el("img", { src: thumbUrl(p.id, version, found.index), alt: "", title: p.path,
                  style: { left: `${left}%`, top: `${top}%` } })) : []));
    canvas.onmousemove = (event) => hover(event, found, at, version);
    canvas.onmouseleave = () => { $("#map-tip").hidden = true; };
    setStatus("#map-status", `${found.images} images of index ${found.index}, ${found.space} space, ${found.layout} layout` +
      (found.color_by ? `, coloured by ${found.color_by}` : "") + " · hover a point to see its image");
  }

  // Thumbnails on a grid of cells, one per cell: the image nearest the cell's centre wins, as in `devise map`,
  // so a dense cluster shows one picture per cell instead of a pile. Positions are percentages of the canvas,
  // which the page may scale.
  function gridded(points, at, canvas) {
    const side = 48, cols = Math.floor(canvas.width / side), rows = Math.floor(canvas.height / side);
    const best = new Map();
    for (const p of points) {
      const [x, y] = at(p);
      const cx = Math.min(cols - 1, Math.floor(x / side)), cy = Math.min(rows - 1, Math.floor(y / side));
      const d = (x - (cx + 0.5) * side) ** 2 + (y - (cy + 0.5) * side) ** 2;
      const key = cy * cols + cx;
      if (!best.has(key) || d < best.get(key).d) best.set(key, { p, d, cx, cy });
    }
    return [...best.values()].map(({ p, cx, cy }) => ({ p, left: (100 * cx * side) / canvas.width,
                                                         top: (100 * cy * side) / canvas.height }));
  }

  function hover(event, found, at, version) {
    const box = event.target.getBoundingClientRect();
    const scale = event.target.width / box.width;
    const mx = (event.clientX - box.left) * scale, my = (event.clientY - box.top) * scale;
    let best = null, bestDistance = 14 * 14;
    for (const p of found.points) {
      const [x, y] = at(p);
      const d = (x - mx) ** 2 + (y - my) ** 2;
      if (d < bestDistance) { best = p; bestDistance = d; }
    }
    const tip = $("#map-tip");
    if (!best) { tip.hidden = true; return; }
    tip.querySelector("img").src = thumbUrl(best.id, version, found.index);
    tip.querySelector("span").textContent = shortName(best.path) + (best.value !== null ? ` · ${best.value}` : "");
    tip.style.left = `${event.pageX + 16}px`;
    tip.style.top = `${event.pageY + 16}px`;
    tip.hidden = false;
  }

  async function viewDedupe(ticket) {
    $("#dedupe-threshold").value = state.threshold || 0.93;
    $("#dedupe-filter").value = state.filter || "";
    $("#dedupe-edits").hidden = !config.edits;
    setStatus("#dedupe-status", "comparing images…");
    const report = await getJson("/api/dedupe", { index: state.index, threshold: state.threshold, filter: state.filter });
    if (ticket !== serial) return;
    await showGroups(report);
  }

  async function showGroups(report) {
    const paths = report.groups.flatMap((g) => [g.keep, ...g.duplicates.map((d) => d.path)]);
    const { byPath, version } = await describe(paths);
    $("#groups").replaceChildren(...report.groups.map((g, i) => el("div", { class: "group" },
      el("h3", {}, `group ${i + 1}` + (g.constant ? ` · one colour ${g.constant}` : "")),
      el("div", { class: "row" },
        card(g.keep, byPath[g.keep], version, { kept: true, badge: "keep" }),
        ...g.duplicates.map((d) => card(d.path, byPath[d.path], version, { score: d.score, badge: "duplicate" }))))));
    let line = `${report.groups.length} group(s), ${report.duplicates} duplicate(s) among ${report.images} images ` +
      `(threshold ${report.threshold}) in index ${report.index}`;
    if (report.removed !== null) line += ` · removed ${report.removed} from the index (${report.count_after} left)`;
    if (report.moved.length) line += ` · moved ${report.moved.length} file(s)`;
    setStatus("#dedupe-status", line);
  }

  async function editDuplicates(kind) {
    clearError();
    const options = { index: currentIndex(), threshold: $("#dedupe-threshold").value, filter: $("#dedupe-filter").value || null };
    if (kind === "move") options.move_to = $("#dedupe-move-to").value;
    const what = kind === "move" ? `move the duplicates to ${options.move_to} and remove them from the index`
      : "remove the duplicates from the index (their files stay)";
    if (!window.confirm(`Really ${what}?`)) return;
    try { await showGroups(await post(`/api/dedupe/${kind}`, options)); } catch (e) { showError(e.message); }
  }

  async function viewIndexes() {
    indexList = await getJson("/api/indexes");
    fillPicker();
    $("#index-table tbody").replaceChildren(...indexList.map((i) => el("tr", { class: i.name === currentIndex() ? "current" : "" },
      el("td", {}, i.default ? "default" : ""),
      el("td", {}, el("button", { type: "button", title: i.version ? `version ${i.version}: search it` : "",
                                onclick: () => go({ view: "search", index: i.name }) }, i.name)),
      ...(i.error ? [el("td", { colspan: 6, class: "bad" }, i.error)]
        : [el("td", {}, String(i.count)), el("td", { title: i.model }, shortName(i.model)), el("td", {}, i.mode),
           el("td", {}, i.image_mode), el("td", {}, i.method), el("td", { title: i.root }, i.root)]))));
  }

  function fillPicker() {
    const picker = $("#index-picker");
    picker.replaceChildren(...indexList.map((i) => el("option", { value: i.name }, `${i.name}${i.count !== null ? ` (${i.count})` : ""}`)));
    picker.value = currentIndex();
  }

  // ---- wiring --------------------------------------------------------------------------------------------
  async function render() {
    const ticket = ++serial;
    clearError();
    if (state.view !== "walk") stopWalk();
    for (const view of VIEWS) $(`#view-${view}`).hidden = view !== state.view;
    for (const tab of document.querySelectorAll("#tabs a")) tab.classList.toggle("active", tab.dataset.view === state.view);
    fillPicker();
    const show = { search: viewSearch, similar: viewSimilar, walk: viewWalk, map: viewMap, dedupe: viewDedupe, indexes: viewIndexes };
    try {
      await show[state.view](ticket);
    } catch (e) {
      if (ticket === serial) { showError(e.message); for (const s of document.querySelectorAll(".status")) if (s.textContent.endsWith("…")) s.textContent = ""; }
    }
  }

  function wire() {
    for (const tab of document.querySelectorAll("#tabs a")) {
      tab.addEventListener("click", (event) => { event.preventDefault(); go({ view: tab.dataset.view }); });
    }
    $("#index-picker").addEventListener("change", (event) => go({ ...state, index: event.target.value, id: undefined }));
    $("#search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      go({ view: "search", q: $("#q").value.trim(), filter: $("#filter").value.trim(), top: $("#top").value,
           feedback: $("#feedback").checked ? undefined : "0" });
    });
    $("#walk-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const start = $("#walk-start").value.trim();
      go({ view: "walk", start, id: start ? undefined : state.id, filter: $("#walk-filter").value.trim(),
           limit: $("#walk-limit").value, space: $("#walk-space").value });
    });
    $("#map-form").addEventListener("submit", (event) => {
      event.preventDefault();
      go({ view: "map", color: $("#map-color").value.trim(), filter: $("#map-filter").value.trim(), space: $("#map-space").value });
    });
    $("#dedupe-form").addEventListener("submit", (event) => {
      event.preventDefault();
      go({ view: "dedupe", threshold: $("#dedupe-threshold").value, filter: $("#dedupe-filter").value.trim() });
    });
    $("#dedupe-delete").addEventListener("click", () => editDuplicates("delete"));
    $("#dedupe-move").addEventListener("click", () => editDuplicates("move"));
    $("#upload").addEventListener("change", (event) => upload(event.target.files[0]));
    const drop = $("#drop");
    drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (event) => { event.preventDefault(); drop.classList.remove("over"); upload(event.dataTransfer.files[0]); });
    window.addEventListener("popstate", () => { state = readUrl(); render(); });
  }

  async function start() {
    state = readUrl();
    wire();
    try { indexList = await getJson("/api/indexes"); } catch (e) { indexList = []; }
    await render();
    if (!indexList.length) showError("no indexes yet: build one with `devise index IMAGES_DIR`, then reload.");
  }

  start();
})();
