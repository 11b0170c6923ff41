// The klein panel's front end: a plain ES module for anywidget (no build step, no CDN).
// State lives in the model's traits (klein_widget/widget/_state.py); buttons send small
// messages ({type: "generate"}, ...) that Python handles. Thumbnails arrive once each as
// binary buffers of a "thumbs" message. Each image crosses the comm once: the page keeps
// the images it received (by content key, shared by every view in the page) and asks for
// one it lacks with a "want" message (see klein_widget/widget/_transfer.py); a view that
// sees an image arrive that it is not showing yet draws it.

let counter = 0;
const OFFLINE_AFTER = 5000; // ms without an answer from the kernel: a saved view
const ANSWER_WITHIN = 4000; // ms for the kernel to answer a click (it acks every message)
// A widget's model lives in its kernel: a new kernel has no model for this view, so the
// view cannot reconnect. Running the panel's cell again draws a new, live panel in its
// place (its history comes back from the gallery); the note says exactly how, per front end.
const AGAIN = {
  jupyter: "Run this panel's cell again (Shift+Enter in it) for a live panel: "
    + "your images are kept and come back in its history.",
  voila: "Reload this page to start a new kernel and a live panel: your images are kept.",
  other: "Run this panel's cell again for a live panel: your images are kept.",
};
const lostText = (where) => `This panel lost its kernel (it restarted or stopped). ${AGAIN[where]}`;
const slowText = (where) => "No answer from the kernel yet: it is busy with another cell, or it "
  + `restarted. If it restarted: ${AGAIN[where]}`;
// Where the panel is drawn: a Jupyter notebook cell, a Voila app, or elsewhere (marimo).
function frontEnd(el) {
  if (location.pathname.includes("/voila/") || document.querySelector("body[data-voila], .voila-root")) {
    return "voila";
  }
  return el.closest(".jp-Cell, .cell") ? "jupyter" : "other";
}
// Keys a range input answers: the panel handles them itself (Jupyter's notebook would
// take arrows to move between cells), with the input's own step.
const SLIDER_KEYS = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1,
  PageDown: -10, PageUp: 10 };
const KEEP_IMAGES = 16; // images kept in the page; an evicted one is asked for again
const images = new Map(); // content key -> Blob, oldest first
const wanted = new Map(); // content key -> when a view asked for it (views ask once together)

function keepImage(key, blob) {
  images.delete(key);
  images.set(key, blob);
  while (images.size > KEEP_IMAGES) images.delete(images.keys().next().value);
}

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

async function copyText(text, button) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    const area = h("textarea", { "aria-hidden": "true", class: "kp-offscreen" });
    area.value = text;
    document.body.append(area);
    area.select();
    try { ok = document.execCommand("copy"); } catch { ok = false; }
    area.remove();
  }
  const before = button.dataset.label || button.textContent;
  button.dataset.label = before;
  button.textContent = ok ? "Copied ✓" : "Select and copy";
  setTimeout(() => { button.textContent = before; }, 1500);
}

// The output area holding this view and its static fallback (Jupyter's classes first).
function outputAreaOf(el) {
  const area = el.closest(".jp-OutputArea, .output");
  if (area) return area;
  for (let node = el.parentElement, i = 0; node && i < 8; node = node.parentElement, i++) {
    if (node.querySelector(".klein-fallback")) return node;
    if (node.matches(".jp-Cell, .cell, .jp-Notebook, body")) return null;
  }
  return null;
}

// The focused element inside ``scope`` (through shadow roots: marimo), or null.
function focusedIn(scope) {
  let node = scope.getRootNode().activeElement;
  while (node && node.shadowRoot && node.shadowRoot.activeElement) node = node.shadowRoot.activeElement;
  return node && scope.contains(node) ? node : null;
}

function render({ model, el }) {
  const id = `kp${++counter}-${Math.random().toString(36).slice(2, 7)}`;
  const thumbs = new Map(); // task id -> blob URL
  const cleanups = [];
  let imageUrl = null;
  let shownKey = "";
  let lastShownKey = "";
  let received = 0; // images that crossed the comm to this view (tests read it)
  let tab = "Python";

  // Every message is answered ({type: "ack"} at least); a click that gets no answer in
  // ANSWER_WITHIN ms means the kernel is busy or gone: the panel says so (see markLost).
  let answerTimer = null;
  let lost = "";
  const send = (type, extra = {}, buffers = undefined) => {
    try {
      model.send({ type, ...extra }, undefined, buffers);
    } catch (error) { // Jupyter: "Cannot send" once the comm's kernel restarted or died
      commGone = true;
      markLost(lostText(frontEnd(el)));
      return;
    }
    if (type !== "hello" && type !== "want" && answerTimer === null) {
      answerTimer = setTimeout(() => { answerTimer = null; markLost((commGone ? lostText : slowText)(frontEnd(el))); },
        ANSWER_WITHIN);
    }
  };
  let commGone = false; // Jupyter said the model's comm is no longer live (a restart)
  const values = () => ({
    prompt: model.get("prompt"), width: model.get("width"), height: model.get("height"),
    seed: model.get("seed"), fresh: model.get("fresh"),
    klein_model: model.get("klein_model"), mode: model.get("mode"),
  });
  const setTrait = (name, value) => { model.set(name, value); model.save_changes(); };

  // --- header --------------------------------------------------------------------------
  // The model and its price, as Python words them from the registry (no price lives here).
  const modelName = h("span", { class: "kp-title", text: "FLUX.2 [klein]" });
  const modelLine = h("span", { class: "kp-muted kp-modelline" });
  const conn = h("span", { class: "kp-conn" });
  const head = h("div", { class: "kp-head" },
    modelName, modelLine, conn);

  // --- controls ------------------------------------------------------------------------
  const prompt = h("textarea", {
    id: `${id}-prompt`, rows: 3, class: "kp-prompt", "aria-describedby": `${id}-hint`,
    placeholder: "Describe the image, e.g. a red fox in fresh snow at golden hour, telephoto",
  });
  prompt.addEventListener("input", () => setTrait("prompt", prompt.value));
  const hint = h("div", { id: `${id}-hint`, class: "kp-muted kp-small",
    text: "Ctrl+Enter (⌘+Enter) generates · Esc cancels the newest job" });
  const enhance = h("button", { type: "button", class: "kp-btn", onclick: () => send("enhance"),
    title: `Rewrite the prompt with WaveSpeed's prompt optimizer (${model.get("prices").enhance || "paid"})` },
  "Enhance prompt");
  const undo = h("button", { type: "button", class: "kp-btn", onclick: () => send("undo") }, "Undo");
  const enhanceNote = h("div", { class: "kp-note kp-small", "aria-live": "polite" });

  function slider(name, label) {
    const input = h("input", { type: "range", id: `${id}-${name}`, class: "kp-range" });
    const number = h("output", { for: `${id}-${name}`, class: "kp-readout" });
    input.addEventListener("input", () => {
      number.textContent = input.value;
      setTrait(name, Number(input.value));
    });
    return { input, number, row: h("div", { class: "kp-slider" },
      h("label", { for: `${id}-${name}`, text: label }), input, number) };
  }
  // A slider's keys, handled by the panel. Notebook 7 handles keys on the window before
  // the page sees them (capture), so the panel listens there first, for its sliders only.
  function sliderKey(event) {
    const input = event.composedPath()[0];
    if (input?.type === "radio" && root.contains(input)) { radioKey(event, input); return; }
    if (input !== widthSlider.input && input !== heightSlider.input) return;
    const lo = Number(input.min), hi = Number(input.max), step = Number(input.step) || 1;
    let value = null;
    if (event.key in SLIDER_KEYS) value = Number(input.value) + SLIDER_KEYS[event.key] * step;
    else if (event.key === "Home") value = lo;
    else if (event.key === "End") value = hi;
    if (value === null || event.ctrlKey || event.metaKey || event.altKey) return;
    event.preventDefault();
    event.stopImmediatePropagation(); // not Jupyter's: ↓ must not move to the next cell
    value = Math.min(hi, Math.max(lo, value));
    if (value === Number(input.value)) return;
    input.value = String(value);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }
  // The same for the panel's radio groups (model, mode): arrows choose, as in any page.
  function radioKey(event, input) {
    const by = { ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1 }[event.key];
    if (!by || event.ctrlKey || event.metaKey || event.altKey) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    const group = [...root.querySelectorAll(`input[type=radio][name="${input.name}"]`)];
    const next = group[(group.indexOf(input) + by + group.length) % group.length];
    next.checked = true;
    next.focus();
    next.dispatchEvent(new Event("change", { bubbles: true }));
  }
  window.addEventListener("keydown", sliderKey, true);
  cleanups.push(() => window.removeEventListener("keydown", sliderKey, true));
  const widthSlider = slider("width", "Width");
  const heightSlider = slider("height", "Height");
  const swap = h("button", { type: "button", class: "kp-btn kp-swap", onclick: () => send("swap"),
    "aria-label": "Swap width and height", title: "Swap width and height" }, "⇄ Swap");
  const presets = h("div", { class: "kp-presets", role: "group", "aria-label": "Aspect ratio" });

  const seedInput = h("input", { type: "text", id: `${id}-seed`, class: "kp-seed",
    inputmode: "numeric", autocomplete: "off", "aria-describedby": `${id}-seedmsg ${id}-seedmode` });
  const seedMsg = h("div", { id: `${id}-seedmsg`, class: "kp-seedmsg kp-small", "aria-live": "polite" });
  const seedMode = h("span", { id: `${id}-seedmode`, class: "kp-badge" });
  const toRandom = h("button", { type: "button", class: "kp-btn",
    onclick: () => { seedTyped(); send("random_seed"); } }, "Back to random");
  const reuse = h("button", { type: "button", class: "kp-btn",
    onclick: () => { seedTyped(); send("reuse_seed"); },
    title: "Fix the seed to the one of the image shown" }, "Reuse image's seed");
  function seedTyped() { // a button that sets the seed replaces what was typed
    seedInput.removeAttribute("aria-invalid");
    shownSeed = null;
  }
  // What was typed stays in the box until the user changes it or a button of theirs sets
  // the seed (Back to random, Reuse, a restore): a wrong value keeps its error, and
  // Generate refuses it, whatever else is clicked meanwhile.
  let shownSeed = model.get("seed"); // the model's seed the box last showed
  function seedProblem(text) {
    const { min_seed: lo, max_seed: hi } = model.get("limits");
    if (!/^-?\d+$/.test(text)) {
      return text === "" ? `Enter a seed: -1 for random, or 0 to ${hi}.`
        : `"${text}" is not a whole number: use -1 for random, or 0 to ${hi}.`;
    }
    const value = Number(text);
    return value < lo || value > hi ? `${text} is out of range: use -1 for random, or 0 to ${hi}.` : "";
  }
  seedInput.addEventListener("input", () => {
    const text = seedInput.value.trim();
    const problem = seedProblem(text);
    seedMsg.textContent = problem;
    if (problem) {
      seedInput.setAttribute("aria-invalid", "true");
    } else {
      seedInput.removeAttribute("aria-invalid");
      shownSeed = Number(text);
      setTrait("seed", shownSeed);
    }
    drawSeedMode();
  });
  const fresh = h("input", { type: "checkbox", id: `${id}-fresh` });
  fresh.addEventListener("change", () => setTrait("fresh", fresh.checked));

  const generate = h("button", { type: "button", class: "kp-btn kp-primary",
    onclick: () => doGenerate() }, "Generate");
  const cancel = h("button", { type: "button", class: "kp-btn", onclick: () => send("cancel"),
    title: "Stop waiting for the newest image" }, "Cancel");
  const statusBox = h("div", { class: "kp-status", role: "status", "aria-live": "polite" });
  const retry = h("button", { type: "button", class: "kp-btn", onclick: () => send("retry") }, "Retry");
  const progress = h("div", { class: "kp-progress" });
  const lostWords = h("span", {});
  // In a notebook, one click puts the cursor in this panel's cell: Shift+Enter runs it.
  const lostGo = h("button", { type: "button", class: "kp-btn", onclick: () => selectCell() },
    "Go to this panel's cell");
  const lostNote = h("div", { class: "kp-lost klein-error", role: "alert" }, lostWords, " ", lostGo);
  lostNote.hidden = true;
  function selectCell() {
    const cell = el.closest(".jp-Cell, .cell");
    const editor = cell?.querySelector(".cm-content, .CodeMirror textarea, textarea");
    if (!editor) return;
    cell.scrollIntoView({ block: "nearest" });
    editor.focus(); // Jupyter makes the focused editor's cell the active one
    lostWords.textContent = "The cursor is in this panel's cell: press Shift+Enter to run it "
      + "again (a live panel replaces this one).";
  }
  const stageAnnouncer = h("div", { class: "kp-offscreen", "aria-live": "polite" });

  // --- model, mode and the reference tray (issue 24) ------------------------------------
  // Native radio groups in fieldsets (arrows move within a group, Tab leaves it).
  function radios(name, legend, options, trait) {
    const group = h("fieldset", { class: "kp-choice" }, h("legend", { text: legend }));
    const inputs = options.map(([value, label]) => {
      const input = h("input", { type: "radio", name: `${id}-${name}`, id: `${id}-${name}-${value}`,
        value, onchange: () => { if (input.checked) setTrait(trait, value); } });
      group.append(h("span", { class: "kp-radio" }, input,
        h("label", { for: `${id}-${name}-${value}`, text: label })));
      return input;
    });
    return { group, inputs };
  }
  const modelPick = radios("model", "Model", model.get("models").map((m) => [m.name, m.label]), "klein_model");
  const modePick = radios("mode", "Mode", [["generate", "Generate"], ["edit", "Edit"]], "mode");
  const trayList = h("ol", { class: "kp-tray-list", "aria-label": "Reference images, in order" });
  const trayNote = h("div", { class: "kp-traynote kp-small", "aria-live": "polite", role: "status" });
  const fileInput = h("input", { type: "file", accept: "image/*", multiple: true, class: "kp-offscreen",
    "aria-label": "Reference image files",
    tabindex: -1, "aria-hidden": "true" });
  fileInput.addEventListener("change", () => { addFiles([...fileInput.files], "file"); fileInput.value = ""; });
  const addFile = h("button", { type: "button", class: "kp-btn", onclick: () => fileInput.click(),
    "aria-describedby": `${id}-trayhint` }, "Add images…");
  const trayHint = h("span", { id: `${id}-trayhint`, class: "kp-small kp-muted" });
  const tray = h("fieldset", { class: "kp-tray" }, h("legend", { text: "Reference images" }),
    trayList, h("div", { class: "kp-row" }, addFile, trayHint), fileInput, trayNote);
  const sizeNote = h("span", { class: "kp-small kp-muted", "aria-live": "polite" });
  const asReference = h("button", { type: "button", class: "kp-btn", onclick: () => send("size_reference"),
    title: "Edit at image 1's size: no size is sent" }, "Use image 1's size");
  const trayThumbs = new Map(); // tray key -> blob URL
  let trayFocus = null; // after a removal: the key (or "add") whose button takes the focus
  // Files from the button, a drop or a paste: checked here (kind, count, size) so nothing
  // is sent that Python would refuse; Python checks again (the bytes decode as an image).
  function addFiles(files, how) {
    const limits = model.get("limits");
    let room = limits.max_references - model.get("references").length;
    for (const file of files) {
      const name = how === "paste" ? "" : file.name;
      const label = name ? `"${name}"` : "The pasted image";
      if (!file.type.startsWith("image/")) {
        trayNote.textContent = `${label} is not an image: use a PNG, JPEG or WebP file. Nothing was added.`;
      } else if (room <= 0) {
        trayNote.textContent = `The tray holds ${limits.max_references} images at most, so ${label} `
          + "was not added: remove one first.";
      } else if (file.size > limits.max_reference_bytes) {
        trayNote.textContent = `${label} is ${(file.size / 2 ** 20).toFixed(1)} MiB: the panel takes `
          + `images up to ${Math.floor(limits.max_reference_bytes / 2 ** 20)} MiB.`;
      } else {
        room -= 1;
        file.arrayBuffer().then((buffer) => send("add_reference", { name }, [buffer]));
        continue;
      }
      trayNote.className = "kp-traynote kp-small klein-error";
    }
  }
  tray.addEventListener("dragover", (event) => {
    if (![...(event.dataTransfer?.types || [])].includes("Files")) return;
    event.preventDefault();
    event.stopPropagation();
    event.dataTransfer.dropEffect = "copy";
    tray.classList.add("kp-drop");
  });
  tray.addEventListener("dragleave", () => tray.classList.remove("kp-drop"));
  tray.addEventListener("drop", (event) => {
    tray.classList.remove("kp-drop");
    if (!event.dataTransfer?.files?.length) return;
    event.preventDefault();
    event.stopPropagation();
    addFiles([...event.dataTransfer.files], "drop");
  });
  function drawTray() {
    const refs = model.get("references");
    const max = model.get("limits").max_references;
    const edit = model.get("mode") === "edit";
    for (const input of modelPick.inputs) input.checked = input.value === model.get("klein_model");
    for (const input of modePick.inputs) input.checked = input.value === model.get("mode");
    tray.hidden = !edit;
    const [name, ...price] = model.get("model_line").split(" · "); // name · price · simulated
    modelName.textContent = name;
    modelLine.textContent = price.join(" · ");
    generate.textContent = edit ? "Edit" : "Generate";
    hint.textContent = `Ctrl+Enter (⌘+Enter) ${edit ? "edits" : "generates"} · Esc cancels the newest job`;
    trayHint.textContent = `${refs.length} of ${max} · drop image files here, or paste one (Ctrl+V)`;
    addFile.disabled = refs.length >= max;
    trayNote.textContent = model.get("tray_note");
    trayNote.className = `kp-traynote kp-small klein-${model.get("tray_kind")}`;
    trayList.replaceChildren(...refs.map((ref, i) => {
      const size = ref.width ? `${ref.width}×${ref.height}` : "size unknown";
      const what = `image ${ref.number}: ${ref.label}, ${size}`;
      const up = h("button", { type: "button", class: "kp-btn kp-x", "aria-label": `Move ${what} earlier`,
        title: "Move earlier", disabled: i === 0, "data-key": ref.key,
        onclick: () => send("move_reference", { key: ref.key, by: -1 }) }, "↑");
      const remove = h("button", { type: "button", class: "kp-btn kp-x kp-remove", "aria-label": `Remove ${what}`,
        title: "Remove from the tray", "data-key": ref.key,
        onclick: () => {
          const next = refs[i + 1] || refs[i - 1];
          trayFocus = { removed: ref.key, next: next ? next.key : "add" };
          send("remove_reference", { key: ref.key });
        } }, "✕");
      return h("li", { class: "kp-ref" },
        h("img", { alt: "", src: trayThumbs.get(ref.key) || null, width: 48, height: 48 }),
        h("span", { class: "kp-small" }, h("b", { text: `image ${ref.number}` }), h("br"),
          h("span", { text: `${ref.label} · ${size}` })), up, remove);
    }));
    // After a removal the focus goes on to the next reference's Remove (else Add images…),
    // once the redraw is done (a notebook may move a lost focus to its cell meanwhile).
    if (trayFocus && !refs.some((ref) => ref.key === trayFocus.removed)) {
      const { next } = trayFocus;
      trayFocus = null;
      setTimeout(() => {
        const target = next === "add" ? addFile : trayList.querySelector(`.kp-remove[data-key="${next}"]`);
        (target && !target.disabled ? target : addFile).focus();
      }, 0);
    }
    const first = refs[0];
    const asRef = edit && first && model.get("size_as_reference");
    sizeNote.textContent = !edit ? "" : !first ? "Edits keep image 1's size unless you set one."
      : asRef ? `As image 1: ${first.width ? `${first.width}×${first.height}` : "its own size"} (no size is sent).`
        : `${model.get("width")}×${model.get("height")} is sent (image 1 is `
          + `${first.width ? `${first.width}×${first.height}` : "of unknown size"}).`;
    asReference.hidden = !edit || !first || asRef;
  }
  // Paste an image anywhere in the panel: into the tray (text pastes as text).
  function onPaste(event) {
    const files = [...(event.clipboardData?.files || [])].filter((f) => f.type.startsWith("image/"));
    if (!files.length) return;
    event.preventDefault();
    event.stopPropagation();
    addFiles(files, "paste");
  }

  const controls = h("div", { class: "kp-controls" },
    h("div", { class: "kp-row kp-choices" }, modelPick.group, modePick.group),
    h("label", { for: `${id}-prompt`, class: "kp-label", text: "Prompt" }), prompt, hint,
    h("div", { class: "kp-row" }, enhance, undo), enhanceNote, tray,
    h("fieldset", { class: "kp-size" }, h("legend", { text: "Size" }),
      widthSlider.row, heightSlider.row, h("div", { class: "kp-row" }, swap, asReference), sizeNote, presets),
    h("div", { class: "kp-seedrow" },
      h("label", { for: `${id}-seed`, class: "kp-label", text: "Seed" }), seedInput, seedMode),
    h("div", { class: "kp-row" }, toRandom, reuse), seedMsg,
    h("div", { class: "kp-row" }, fresh,
      h("label", { for: `${id}-fresh`, text: "Fresh: ask WaveSpeed again, not the gallery" })),
    h("div", { class: "kp-row kp-actions" }, generate, cancel), lostNote,
    progress, stageAnnouncer, h("div", { class: "kp-row" }, statusBox, retry));

  // --- result --------------------------------------------------------------------------
  const img = h("img", { class: "kp-image", alt: "" });
  const enlarge = h("button", { type: "button", class: "kp-imgbtn", onclick: () => openLightbox(),
    "aria-label": "Enlarge the image" }, img);
  const caption = h("div", { class: "kp-caption kp-small" });
  const staleNote = h("div", { class: "kp-stale kp-small" });
  const nsfwText = h("span", { text: "The server flagged this image as possibly unsafe (NSFW), so it is hidden. " });
  const nsfwNote = h("div", { class: "kp-nsfw" }, nsfwText);
  // One control for every flagged picture in this view (the image, the history's
  // thumbnails, the lightbox): hidden until shown, and hidden again when another image
  // is shown.
  function showFlagged(on) {
    root.classList.toggle("kp-nsfw-shown", on);
    drawNsfwText();
    for (const button of [nsfwShow, historyShow, lbShow]) button.setAttribute("aria-pressed", String(on));
    drawFlaggedNote();
    drawLightbox();
  }
  const flaggedShown = () => root.classList.contains("kp-nsfw-shown");
  // The note says what the picture is now: hidden, or shown because the user asked.
  const drawNsfwText = () => {
    nsfwText.textContent = "The server flagged this image as possibly unsafe (NSFW), so it is "
      + (flaggedShown() ? "shown only because you asked. " : "hidden. ");
  };
  const nsfwShow = h("button", { type: "button", class: "kp-btn", "aria-pressed": "false",
    onclick: () => showFlagged(!flaggedShown()) }, "Show / hide");
  nsfwNote.append(nsfwShow);
  const download = h("a", { class: "kp-btn", role: "button" }, "Download");
  // "Edit this": the image shown goes into the reference tray (by its history entry).
  const editThis = h("button", { type: "button", class: "kp-btn",
    onclick: () => send("edit_this", { id: model.get("current_id") }),
    title: "Add this image to the reference tray and switch to Edit" }, "Edit this");
  const tabs = h("div", { class: "kp-tabs", role: "tablist", "aria-label": "Code for this image" });
  const code = h("pre", { class: "kp-code", id: `${id}-code`, role: "tabpanel", tabindex: 0 });
  const copy = h("button", { type: "button", class: "kp-btn kp-copy",
    onclick: () => copyText(model.get("snippets")[tab] || "", copy) }, "Copy");
  const snippetBox = h("div", { class: "kp-snippets" },
    h("div", { class: "kp-small kp-muted", text: "Reproduce exactly this image (the key is read from $WAVESPEED_API_KEY):" }),
    h("div", { class: "kp-row kp-tabrow" }, tabs, copy), code);
  const result = h("div", { class: "kp-result" }, nsfwNote, enlarge, staleNote, caption,
    h("div", { class: "kp-row" }, download, editThis), snippetBox);

  // --- history -------------------------------------------------------------------------
  const historyHead = h("div", { class: "kp-small kp-muted" });
  const filter = h("input", { type: "search", id: `${id}-filter`, class: "kp-filter",
    placeholder: "words in the prompt" });
  const strip = h("div", { class: "kp-strip", role: "list" });
  const noMatch = h("div", { class: "kp-small kp-muted kp-nomatch" });
  const historyShow = h("button", { type: "button", class: "kp-btn", "aria-pressed": "false",
    "aria-label": "Show / hide the flagged thumbnails", onclick: () => showFlagged(!flaggedShown()) },
  "Show / hide");
  const historyFlagged = h("span", {});
  const historyNsfw = h("div", { class: "kp-small kp-histnsfw" }, historyFlagged, " ", historyShow);
  filter.addEventListener("input", () => drawHistory());
  // One Tab stop for the whole strip (the image shown, else the newest); arrows move on.
  strip.addEventListener("keydown", (event) => {
    const keys = { ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1 };
    const buttons = [...strip.querySelectorAll(".klein-thumb")];
    const at = buttons.indexOf(focusedIn(strip));
    if (at < 0) return;
    let to = null;
    if (event.key in keys) to = Math.min(buttons.length - 1, Math.max(0, at + keys[event.key]));
    else if (event.key === "Home") to = 0;
    else if (event.key === "End") to = buttons.length - 1;
    if (to === null) return;
    event.preventDefault();
    event.stopPropagation();
    for (const [button, stop] of [[buttons[at], -1], [buttons[to], 0]]) {
      button.tabIndex = stop; // its cell's "Edit this" follows it
      button.parentElement.querySelector(".kp-edit").tabIndex = stop;
    }
    buttons[to].focus();
  });
  const history = h("section", { class: "kp-history", "aria-label": "History" },
    h("div", { class: "kp-row" }, historyHead,
      h("label", { for: `${id}-filter`, class: "kp-small", text: "Filter" }), filter), noMatch, historyNsfw,
    strip);
  const spend = h("div", { class: "kp-small kp-muted kp-spend" });

  const root = h("div", { class: "klein-panel", "data-lm-suppress-shortcuts": "true",
    "data-p-suppress-shortcuts": "true" },
    head, h("div", { class: "kp-main" }, controls, result, history), spend);
  el.append(root);

  // Live or saved: a view drawn from a saved notebook's widget state has no kernel to
  // answer its "hello"; it shrinks to one line and leaves the static fallback visible.
  // Any message from the kernel (even a late one, from a busy kernel) makes it live.
  let live = false;
  const offlineNote = h("div", { class: "kp-offline-note kp-small kp-muted", role: "note",
    text: "This panel is not connected to its kernel (a saved notebook, or the kernel is "
      + "busy or gone): run its cell to use it. What it made last is shown below." });
  root.append(offlineNote);
  const offlineTimer = setTimeout(() => { if (!live) root.classList.add("kp-offline"); },
    OFFLINE_AFTER);
  function markLive() {
    if (answerTimer !== null) clearTimeout(answerTimer);
    answerTimer = null;
    if (lost) {
      lost = "";
      commGone = false;
      lostNote.hidden = true;
      drawStatus();
    }
    if (live) return;
    live = true;
    clearTimeout(offlineTimer);
    root.classList.remove("kp-offline");
    outputAreaOf(el)?.classList.add("kp-live-output");
  }
  // No answer to a click: say so where the status is, and stop offering Generate (its
  // click would go nowhere). Any later message from the kernel undoes this (markLive).
  function markLost(text) {
    lost = text;
    lostWords.textContent = text;
    lostGo.hidden = frontEnd(el) !== "jupyter";
    lostNote.hidden = false;
    root.classList.remove("kp-busy");
    drawStatus();
  }
  // Jupyter marks a model's comm dead when its kernel restarts: check at once with a ping.
  const onCommLive = () => {
    commGone = !!el.closest(".jupyter-widgets-disconnected") || model.comm_live === false;
    if (answerTimer !== null) clearTimeout(answerTimer);
    answerTimer = null;
    send("ping");
  };
  model.on("comm_live_update", onCommLive);
  cleanups.push(() => model.off("comm_live_update", onCommLive));

  // --- lightbox ------------------------------------------------------------------------
  // A modal dialog: Tab cycles inside it, Escape closes it, ←/→ step through the history
  // (each step restores that image, as clicking its thumbnail would), and focus goes back
  // to what opened it.
  let lightbox = null;
  let opener = null;
  const lbImg = h("img", { alt: "" });
  const lbText = h("p", {});
  const lbPrev = h("button", { type: "button", class: "kp-btn", "aria-label": "Previous image (older)",
    onclick: () => step(1) }, "← Older");
  const lbNext = h("button", { type: "button", class: "kp-btn", "aria-label": "Next image (newer)",
    onclick: () => step(-1) }, "Newer →");
  const lbClose = h("button", { type: "button", class: "kp-btn", onclick: () => closeLightbox() }, "Close");
  const lbEdit = h("button", { type: "button", class: "kp-btn",
    onclick: () => { send("edit_this", { id: model.get("current_id") }); closeLightbox(); },
    "aria-label": "Edit this: add the image to the reference tray" }, "Edit this");
  const lbShow = h("button", { type: "button", class: "kp-btn", "aria-pressed": "false",
    "aria-label": "Show / hide the flagged image", onclick: () => showFlagged(!flaggedShown()) },
  "Show / hide");
  function step(by) {
    const items = model.get("history_items");
    const at = items.findIndex((e) => e.id === model.get("current_id"));
    const next = items[at + by];
    if (at >= 0 && next) send("restore", { id: next.id });
  }
  function drawLightbox() {
    if (!lightbox) return;
    const info = model.get("image_info");
    const hidden = info.nsfw && !flaggedShown();
    lbImg.src = imageUrl || "";
    lbImg.alt = info.alt || "";
    lbImg.hidden = hidden; // stepping onto a flagged image keeps it hidden
    lbShow.hidden = !info.nsfw;
    lbText.textContent = (info.nsfw ? `Flagged NSFW${hidden ? ", hidden" : ""}. ` : "")
      + `#${info.number} · ${info.prompt} · ${info.width}×${info.height} · seed ${info.seed}`;
    const items = model.get("history_items");
    const at = items.findIndex((e) => e.id === model.get("current_id"));
    lbPrev.disabled = at < 0 || at >= items.length - 1;
    lbNext.disabled = at <= 0;
  }
  function openLightbox() {
    if (!imageUrl || lightbox) return;
    opener = focusedIn(root) || enlarge;
    lightbox = h("div", { class: "kp-lightbox", role: "dialog", "aria-modal": "true",
      "aria-label": "The image, enlarged", "data-lm-suppress-shortcuts": "true",
      "data-p-suppress-shortcuts": "true",
      onclick: (e) => { if (e.target === lightbox) closeLightbox(); } },
      h("div", { class: "kp-lightbox-inner" }, lbImg, lbText,
        h("div", { class: "kp-row" }, lbPrev, lbNext, lbShow, lbEdit, lbClose)));
    lightbox.addEventListener("keydown", (event) => {
      const keys = { Escape: () => closeLightbox(), ArrowLeft: () => step(1), ArrowRight: () => step(-1) };
      if (event.key === "Tab") {
        const stops = [lbPrev, lbNext, lbShow, lbEdit, lbClose].filter((b) => !b.disabled && !b.hidden);
        const at = stops.indexOf(focusedIn(lightbox));
        const next = stops[(at + (event.shiftKey ? -1 : 1) + stops.length) % stops.length];
        next.focus();
      } else if (!(event.key in keys)) {
        return;
      } else {
        keys[event.key]();
      }
      event.preventDefault();
      event.stopPropagation();
    });
    // Focus that leaves the dialog anyhow (a click outside its buttons) comes back.
    lightbox.addEventListener("focusout", (event) => {
      if (lightbox && !lightbox.contains(event.relatedTarget)) setTimeout(() => lightbox?.contains(focusedIn(lightbox)) || lbClose.focus(), 0);
    });
    // Outside the panel (its container query makes it the box of fixed elements), but in
    // the same tree as its stylesheet: marimo draws widgets in a shadow root.
    const tree = root.getRootNode();
    (tree instanceof ShadowRoot ? tree : document.body).append(lightbox);
    drawLightbox();
    lbClose.focus();
  }
  function closeLightbox() {
    if (!lightbox) return;
    lightbox.remove();
    lightbox = null;
    (opener && opener.isConnected ? opener : enlarge).focus();
  }

  // --- actions and keys ----------------------------------------------------------------
  function doGenerate() {
    if (lost) return;
    if (seedInput.getAttribute("aria-invalid") === "true") {
      seedMsg.textContent = `${seedProblem(seedInput.value.trim())} Nothing was sent.`;
      seedInput.focus();
      return;
    }
    send("generate", values());
  }
  root.addEventListener("paste", onPaste);
  root.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      event.stopPropagation();
      doGenerate();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      if (lightbox) closeLightbox();
      else send("cancel");
    }
  });

  // --- drawing from the model ----------------------------------------------------------
  function drawFields() {
    if (document.activeElement !== prompt && prompt.value !== model.get("prompt")) {
      prompt.value = model.get("prompt");
    }
    const limits = model.get("limits");
    for (const [s, name] of [[widthSlider, "width"], [heightSlider, "height"]]) {
      Object.assign(s.input, { min: limits.min_side, max: limits.max_side, step: limits.step });
      s.input.value = model.get(name);
      s.number.textContent = String(model.get(name));
    }
    const seed = model.get("seed");
    // The box shows the model's seed unless it holds the user's own (wrong) text and the
    // model's seed has not changed since: then the text and its error stay.
    const invalid = seedInput.getAttribute("aria-invalid") === "true";
    if (!invalid || seed !== shownSeed) {
      if (seedInput.value !== String(seed)) seedInput.value = String(seed);
      seedInput.removeAttribute("aria-invalid");
      seedMsg.textContent = "";
    }
    shownSeed = seed;
    drawSeedMode();
    toRandom.disabled = seed === -1;
    reuse.disabled = !model.get("image_info").seed && model.get("image_info").seed !== 0;
    fresh.checked = model.get("fresh");
    presets.replaceChildren(...model.get("presets").map((name) => {
      const on = model.get("active_preset") === name;
      return h("button", { type: "button", class: `kp-btn kp-preset${on ? " kp-on" : ""}`,
        "aria-pressed": on ? "true" : "false", "aria-label": `Aspect ${name}`,
        onclick: () => send("preset", { name }) }, on ? `✓ ${name}` : name);
    }));
  }
  function drawSeedMode() {
    const seed = model.get("seed");
    const fixed = seed !== -1;
    const restored = fixed && model.get("seed_restored");
    const invalid = seedInput.getAttribute("aria-invalid") === "true";
    seedMode.textContent = invalid ? "Not a seed yet" : fixed ? (restored ? "Fixed · from history" : "Fixed")
      : "Random each time";
    seedMode.title = !invalid && fixed ? "Generate repeats the same image with this seed" : "";
    seedMode.className = `kp-badge ${invalid ? "kp-invalid" : fixed ? "kp-fixed" : "kp-random"}`;
  }
  function drawStatus() {
    // Jobs in flight show as bars; the live region announces stages, not every tick.
    const lines = model.get("status_lines").filter((line) => line.kind !== "busy");
    statusBox.replaceChildren(...lines.map((line) =>
      h("div", { class: `klein-line klein-${line.kind}`, text: line.text })));
    // Jobs in flight are named by their seed: "#N" is only ever the history's number.
    const stages = model.get("in_flight").map((job) => `Seed ${job.seed}: ${job.stage}.`).join(" ");
    if (stageAnnouncer.textContent !== stages) stageAnnouncer.textContent = stages;
    retry.hidden = !model.get("can_retry");
    const jobs = model.get("in_flight");
    cancel.disabled = jobs.length === 0 && !model.get("enhancing");
    generate.disabled = jobs.length >= model.get("limits").max_in_flight || !!lost;
    progress.replaceChildren(...jobs.map((job) => {
      const pct = job.expected ? Math.min(95, (100 * job.elapsed) / job.expected) : null;
      const bar = h("div", { class: `kp-bar${pct === null ? " kp-indeterminate" : ""}`,
        role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100,
        "aria-valuenow": pct === null ? null : Math.round(pct),
        "aria-label": `Image with seed ${job.seed}: ${job.stage}, ${job.elapsed.toFixed(1)} s` },
        h("div", { class: "kp-fill", style: pct === null ? "" : `width: ${pct}%` }));
      return h("div", { class: "kp-job" },
        h("span", { class: "kp-small", text: `Seed ${job.seed}: ${job.stage} · ${job.elapsed.toFixed(1)} s`
          + (job.expected ? ` of ~${job.expected.toFixed(1)} s` : "")
          + (job.expected && job.elapsed > 1.5 * job.expected ? " (longer than usual)" : "")
          + (job.budget ? ` · ${job.budget}` : "") + (job.model ? ` · ${job.model}` : "")
        }),
        bar,
        h("button", { type: "button", class: "kp-btn kp-x", "aria-label": `Cancel the image with seed ${job.seed}`,
          title: "Stop waiting for this image", onclick: () => send("cancel", { job: job.number }) }, "✕"));
    }));
    root.classList.toggle("kp-busy", jobs.length > 0 && !lost);
    progress.hidden = !!lost;
    enhance.disabled = model.get("enhancing");
    undo.disabled = !model.get("can_undo");
    enhanceNote.textContent = model.get("enhance_note");
    enhanceNote.className = `kp-note kp-small klein-${model.get("enhance_kind")}`;
    conn.textContent = model.get("connection");
    spend.textContent = model.get("spend_line");
  }
  function drawImage() {
    const key = model.get("image_key");
    const blob = images.get(key);
    if (key && !blob) {
      // Not in this page yet: ask once; the previous image stays until it arrives.
      if (performance.now() - (wanted.get(key) ?? -1e9) > 5000) {
        wanted.set(key, performance.now());
        send("want", { key });
      }
      return;
    }
    if (imageUrl) URL.revokeObjectURL(imageUrl);
    imageUrl = null;
    shownKey = key;
    result.hidden = !blob;
    if (!blob) return;
    imageUrl = URL.createObjectURL(blob);
    const info = model.get("image_info");
    img.src = imageUrl;
    img.alt = info.alt || info.prompt || "";
    img.width = info.width;
    img.height = info.height;
    download.href = imageUrl;
    download.download = info.filename || "klein.png";
    caption.textContent = info.done || "";
    root.classList.toggle("kp-nsfw", !!info.nsfw);
    if (shownKey !== lastShownKey) showFlagged(false); // another image: flagged ones hide again
    lastShownKey = shownKey;
    drawStale();
    drawSnippets();
    drawLightbox();
  }
  function drawStale() {
    const stale = model.get("image_stale");
    root.classList.toggle("kp-stale-image", stale);
    staleNote.textContent = stale ? "This is the previous image: the last attempt failed." : "";
  }
  function drawSnippets() {
    const all = model.get("snippets");
    if (!(tab in all)) tab = Object.keys(all)[0] || "Python";
    tabs.replaceChildren(...Object.keys(all).map((title) => h("button", {
      type: "button", role: "tab", class: `kp-tab${title === tab ? " kp-on" : ""}`,
      "aria-selected": title === tab ? "true" : "false", "aria-controls": `${id}-code`,
      onclick: () => { tab = title; drawSnippets(); } }, title)));
    code.textContent = all[tab] || "";
    copy.setAttribute("aria-label", `Copy the ${tab} code`);
  }
  function drawFlaggedNote() {
    const flagged = model.get("history_items").filter((e) => e.nsfw).length;
    historyFlagged.textContent = `${flagged} image${flagged === 1 ? "" : "s"} flagged NSFW by the `
      + `server, ${flaggedShown() ? "shown" : "hidden"}:`;
    historyNsfw.hidden = flagged === 0;
  }
  function drawHistory() {
    const items = model.get("history_items");
    const words = filter.value.trim().toLowerCase();
    const shown = words ? items.filter((e) => e.prompt.toLowerCase().includes(words)) : items;
    const count = model.get("history_count");
    history.hidden = items.length === 0;
    const images = `${count} image${count === 1 ? "" : "s"}`;
    historyHead.textContent = words
      ? `History · ${shown.length} of ${images} match · newest first · click one to restore it`
      : `History · ${images} · newest first · click one to restore it`;
    noMatch.textContent = words && !shown.length ? `No image's prompt contains "${filter.value.trim()}".` : "";
    noMatch.hidden = !noMatch.textContent;
    const current = model.get("current_id");
    const stop = shown.some((e) => e.id === current) ? current : shown[0]?.id;
    drawFlaggedNote();
    strip.replaceChildren(...shown.map((entry) => {
      const pic = h("img", { alt: entry.alt || entry.prompt, src: thumbs.get(entry.id) || null,
        width: entry.width >= entry.height ? 96 : Math.round((96 * entry.width) / entry.height),
        height: entry.height >= entry.width ? 96 : Math.round((96 * entry.height) / entry.width) });
      return h("div", { role: "listitem", class: "kp-cell" }, h("button", {
        type: "button", class: `klein-thumb${entry.id === current ? " klein-current" : ""}`
          + (entry.nsfw ? " kp-flagged" : ""),
        tabindex: entry.id === stop ? 0 : -1,
        "aria-current": entry.id === current ? "true" : null,
        title: `#${entry.number} · seed ${entry.seed}${entry.nsfw ? " · flagged NSFW" : ""}\n${entry.prompt}\nClick to restore`,
        "aria-label": `Restore image #${entry.number}${entry.nsfw ? " (flagged NSFW)" : ""}: `
          + `${entry.prompt}, ${entry.width}×${entry.height}, seed ${entry.seed}`,
        onclick: () => send("restore", { id: entry.id }) },
        entry.nsfw ? h("span", { class: "kp-pic" }, pic, h("span", { class: "kp-flag", text: "Flagged NSFW: hidden" }))
          : pic,
        h("span", { class: "kp-small", text: `${entry.width}×${entry.height} · ${entry.seed}` })),
      h("button", { type: "button", class: "kp-btn kp-edit", tabindex: entry.id === stop ? 0 : -1,
        "aria-label": `Edit this: add image #${entry.number} to the reference tray`,
        onclick: () => send("edit_this", { id: entry.id }) }, "Edit this"));
    }));
  }

  const on = (names, fn) => {
    for (const name of names.split(" ")) {
      model.on(`change:${name}`, fn);
      cleanups.push(() => model.off(`change:${name}`, fn));
    }
  };
  on("prompt width height seed seed_restored fresh active_preset image_info limits", drawFields);
  on("references mode klein_model model_line tray_note tray_kind size_as_reference width height", drawTray);
  on("status_lines can_retry in_flight limits enhancing can_undo enhance_note enhance_kind connection spend_line", drawStatus);
  on("image_key image_info", drawImage);
  on("image_stale", drawStale);
  on("snippets", drawSnippets);
  on("history_items history_count current_id", drawHistory);
  on("history_items current_id", drawLightbox); // marimo may send these after the image
  const onMessage = (msg, buffers) => {
    markLive();
    if (msg && msg.type === "ack") return;
    if (msg && msg.type === "image" && buffers && buffers[0]) {
      const type = msg.format === "jpeg" ? "image/jpeg" : "image/png";
      keepImage(msg.key, new Blob([buffers[0]], { type }));
      root.dataset.received = String(++received);
      wanted.delete(msg.key);
      if (msg.key === model.get("image_key") && msg.key !== shownKey) drawImage();
      return;
    }
    if (msg && msg.type === "tray_thumbs") {
      msg.keys.forEach((key, i) => {
        if (trayThumbs.has(key)) URL.revokeObjectURL(trayThumbs.get(key));
        trayThumbs.set(key, URL.createObjectURL(new Blob([buffers[i]], { type: "image/jpeg" })));
      });
      drawTray();
      return;
    }
    if (!msg || msg.type !== "thumbs") return;
    msg.ids.forEach((key, i) => {
      if (thumbs.has(key)) URL.revokeObjectURL(thumbs.get(key));
      thumbs.set(key, URL.createObjectURL(new Blob([buffers[i]], { type: "image/jpeg" })));
    });
    drawHistory();
  };
  model.on("msg:custom", onMessage);
  cleanups.push(() => model.off("msg:custom", onMessage));

  drawFields();
  drawTray();
  drawStatus();
  drawImage();
  drawHistory();
  send("hello");

  return () => {
    clearTimeout(offlineTimer);
    for (const clean of cleanups) clean();
    if (lightbox) lightbox.remove();
    for (const url of [...thumbs.values(), ...trayThumbs.values()]) URL.revokeObjectURL(url);
    if (imageUrl) URL.revokeObjectURL(imageUrl);
  };
}

export default { render };
