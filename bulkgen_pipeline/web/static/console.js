// bulkgen console: small progressive enhancement. Every page works without it, except the
// live run tiles (without script, reload the page) and adding rows/colours.
"use strict";

function on(selector, event, handler) {
  document.addEventListener(event, (e) => {
    const target = e.target.closest(selector);
    if (target) handler(e, target);
  });
}

on("[data-dismiss]", "click", (e, button) => button.closest("[data-flash]").remove());
on("[data-open]", "click", (e, button) => {
  const dialog = document.getElementById(button.dataset.open);
  if (dialog) dialog.showModal();
});
on("[data-close]", "click", (e, button) => button.closest("dialog").close());
// A select that changes what the form offers posts the form as typed, naming why.
on("[data-intent]", "change", (e, select) => {
  const intent = document.createElement("input");
  intent.type = "hidden"; intent.name = "intent"; intent.value = select.dataset.intent;
  select.form.appendChild(intent);
  select.form.submit();
});
on("[data-credits-for]", "input", (e, input) => {
  const price = Number(input.dataset.price || "1");
  document.getElementById(input.dataset.creditsFor).textContent = String((Number(input.value) || 0) * price);
});
on("[data-remove-colour]", "click", (e, button) => button.closest(".colour-row").remove());
on("#add-colour", "click", () => {
  const row = document.getElementById("colour-template").content.cloneNode(true);
  document.getElementById("palette").appendChild(row);
});
on("[data-remove-row]", "click", (e, button) => {
  const rows = document.getElementById("prompt-rows");
  button.closest(".prompt-row").remove();
  if (!rows.children.length) addPromptRow();
});
on("#add-row", "click", () => addPromptRow());

function addPromptRow() {
  const row = document.getElementById("prompt-row-template").content.cloneNode(true);
  const rows = document.getElementById("prompt-rows");
  rows.appendChild(row);
  rows.lastElementChild.querySelector("textarea").focus();
}

document.querySelectorAll("[data-swatch]").forEach((el) => {
  el.style.background = el.dataset.swatch;
});

// The run page: follow the job's server-sent events; on each, fetch the status view (one
// definition of counts, ETA and download link: the API's) and update the page in place.
(function runPage() {
  const run = document.getElementById("run");
  if (!run) return;
  // The status sets come from the server (web/pages.py CONSOLE_STATUSES, from the enums).
  const STATUSES = JSON.parse(document.getElementById("console-statuses").textContent);
  const FINAL = STATUSES.final;
  const TILE = STATUSES.tiles;
  let pending = null;
  let source = null;

  function etaText(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const s = Math.round(seconds), m = Math.floor(s / 60);
    return m ? `about ${m} min ${s % 60} s left` : `about ${s} s left`;
  }

  function updateTile(tile, item) {
    const state = TILE[item.status] || "waiting";
    if (tile.classList.contains(`state-${state}`)) return;
    tile.className = `tile state-${state}`;
    tile.querySelector(".tile-state").textContent = state;
    const error = tile.querySelector(".tile-error");
    const failed = item.status === STATUSES.item_failed;
    error.textContent = failed ? (item.error || STATUSES.item_failed) : "";
    error.hidden = !failed;
    const thumb = tile.querySelector(".thumb");
    if (state === "done" && !thumb.querySelector("img")) {
      const n = tile.dataset.index, base = `/runs/${run.dataset.runId}/images/${n}.png`;
      const link = document.createElement("a");
      link.href = `${base}?size=full`; link.target = "_blank"; link.rel = "noopener";
      const img = document.createElement("img");
      img.src = base; img.alt = `Image ${n}`; img.width = 160; img.height = 160;
      link.appendChild(img);
      thumb.replaceChildren(link);
    } else if (state !== "done") {
      const spot = document.createElement("span");
      spot.className = "placeholder";
      thumb.replaceChildren(spot);
    }
  }

  function apply(status) {
    const badge = document.getElementById("run-status");
    badge.textContent = status.status;
    const tone = STATUSES.tones[status.status] || STATUSES.neutral_tone;
    badge.className = `badge status-${status.status} tone-${tone}`;
    const done = status.completed_images + status.failed_images;
    const progress = document.getElementById("run-progress");
    progress.max = status.total_images; progress.value = done;
    document.getElementById("run-counts").textContent =
      `${status.completed_images} of ${status.total_images} done` +
      (status.failed_images ? `, ${status.failed_images} failed` : "");
    document.getElementById("run-credits").textContent = `${status.credits_consumed} credits charged`;
    document.getElementById("run-eta").textContent = etaText(status.eta_seconds);
    const error = document.getElementById("run-error");
    error.textContent = status.error || ""; error.hidden = !status.error;
    const final = FINAL.includes(status.status);
    document.getElementById("cancel-form").hidden = final;
    document.getElementById("retry-form").hidden = !STATUSES.retryable.includes(status.status);
    const download = document.getElementById("download");
    if (status.download_link) download.href = status.download_link;
    download.hidden = !status.download_link;
    const items = new Map(status.items.map((i) => [String(i.generation_index), i]));
    document.querySelectorAll("#tiles .tile").forEach((tile) => {
      const item = items.get(tile.dataset.index);
      if (item) updateTile(tile, item);
    });
    if (!STATUSES.unresolved.includes(status.status) && document.querySelector("#tiles .tile:not(:has(details))")) {
      loadDetails();
    }
    run.dataset.final = String(final);
    if (final && source) { source.close(); source = null; }
  }

  // Tiles rendered before the run resolved its prompts get them once they exist.
  let detailsLoading = false;
  async function loadDetails() {
    if (detailsLoading) return;
    detailsLoading = true;
    const response = await fetch(`/runs/${run.dataset.runId}/details`, { credentials: "same-origin" });
    if (response.ok) {
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      doc.querySelectorAll("[data-details-for]").forEach((holder) => {
        const tile = document.querySelector(`#tiles .tile[data-index="${holder.dataset.detailsFor}"]`);
        const details = holder.querySelector("details");
        if (tile && details && !tile.querySelector("details")) tile.appendChild(details);
      });
    }
    detailsLoading = false;
  }

  async function refresh() {
    pending = null;
    const response = await fetch(run.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" });
    if (response.ok) apply(await response.json());
  }

  function schedule() {
    if (!pending) pending = setTimeout(refresh, 250);
  }

  if (run.dataset.final !== "true") {
    source = new EventSource(run.dataset.eventsUrl);
    source.addEventListener("status", schedule);
    source.addEventListener("item", schedule);
    // Items that start running send no event: look now and then while the run is live.
    const poll = setInterval(() => {
      if (run.dataset.final === "true") clearInterval(poll); else schedule();
    }, 3000);
  }
})();
