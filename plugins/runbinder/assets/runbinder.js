/* runbinder: the runbook page at 3 a.m.
 *
 * - Fill in placeholders once: each variable of the page gets a field; typing a value fills it into every
 *   command on the page (the copy button copies the filled command). Values stay in this browser's local
 *   storage, per runbook page (site-wide variables: one value for the whole site); a secret is never stored,
 *   and shows as dots on screen while the copy button copies it.
 * - Tick the steps: steps and checklist items can be ticked; the ticks and when the first was made are kept per
 *   runbook page, with a "started at / reset" control.
 * - Filter the alerts index by part of an alert's name.
 *
 * Progressive enhancement: without this script every command still shows its placeholders, marked. Text from
 * the page or the reader is only ever set with textContent or as an attribute value, never parsed as HTML; no
 * request leaves the page; nothing here uses eval or inline script, so the site's Content-Security-Policy
 * ("script-src 'self'") allows it, from a server or from file://.
 */
(function () {
  "use strict";

  var VERSION = "1";
  var script = document.currentScript;
  // The site root, from this file's own address (assets/runbinder/runbinder.js): the storage keys then belong to
  // this copy of the site, wherever it is served from or opened.
  var root = script && script.src ? new URL("../../", script.src) : new URL("/", location.href);
  var page = (function () {
    var path = decodeURIComponent(location.pathname);
    var base = decodeURIComponent(root.pathname);
    var rel = path.indexOf(base) === 0 ? path.slice(base.length) : path;
    return rel.replace(/(^|\/)index\.html$/, "$1");
  })();

  function storageKey(kind, site) {
    return "runbinder:" + VERSION + ":" + root.href + (site ? "" : "|" + page) + "|" + kind;
  }

  var storage = {
    load: function (key) {
      try {
        var raw = window.localStorage.getItem(key);
        var parsed = raw ? JSON.parse(raw) : null;
        return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
      } catch (e) {
        return {}; // storage off (private mode, a policy) or unreadable: the page still works, unsaved
      }
    },
    save: function (key, value) {
      try {
        if (value === null) {
          window.localStorage.removeItem(key);
        } else {
          window.localStorage.setItem(key, JSON.stringify(value));
        }
      } catch (e) {
        /* full or off: nothing kept, nothing broken */
      }
    },
  };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function own(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key) && typeof object[key] === "string";
  }

  function content() {
    return document.querySelector("article.md-content__inner") || document.querySelector(".md-content") || document.body;
  }

  /** A heading's text without Material's permalink sign. */
  function headingText(heading) {
    var copy = heading.cloneNode(true);
    copy.querySelectorAll(".headerlink, input").forEach(function (n) {
      n.remove();
    });
    return copy.textContent.replace(/\s+/g, " ").trim();
  }

  function clock(ms) {
    var when = new Date(ms);
    var today = new Date().toDateString() === when.toDateString();
    var time = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return today ? time : when.toLocaleDateString() + " " + time;
  }

  // ------------------------------------------------------------------ placeholders

  // What a shell reads as more than one plain word: anything outside letters, digits and _ . / : @ % + = , -
  var UNSAFE_VALUE = /[^A-Za-z0-9_.\/:@%+=,-]/;

  function initVariables() {
    var box = document.querySelector(".rb-vars");
    if (!box) return;
    var pageKey = storageKey("variables", false);
    var siteKey = storageKey("variables", true);
    var saved = { page: storage.load(pageKey), site: storage.load(siteKey) };
    var values = Object.create(null);
    var secret = Object.create(null);
    var marks = Object.create(null);
    content()
      .querySelectorAll("code .rb-var[data-rb-var]")
      .forEach(function (mark) {
        var name = mark.getAttribute("data-rb-var");
        (marks[name] = marks[name] || []).push({ node: mark, original: mark.textContent });
      });

    function fill(name) {
      var value = values[name] || "";
      (marks[name] || []).forEach(function (mark) {
        var node = mark.node;
        while (node.firstChild) node.removeChild(node.firstChild);
        if (!value) {
          node.textContent = mark.original;
          node.classList.remove("rb-filled");
          node.removeAttribute("title");
        } else if (secret[name]) {
          // Dots on screen (a shared screen, a screenshot); the copy button copies the value (interactive.css).
          node.appendChild(el("span", { class: "rb-mask" }, "\u2022\u2022\u2022\u2022\u2022\u2022"));
          node.appendChild(el("span", { class: "rb-real" }, value));
          node.classList.add("rb-filled");
          node.setAttribute("title", mark.original + " (secret, filled in)");
        } else {
          node.textContent = value;
          node.classList.add("rb-filled");
          node.setAttribute("title", mark.original);
        }
      });
    }

    var fields = [];
    box.querySelectorAll("dt[data-rb-var]").forEach(function (dt, index) {
      var name = dt.getAttribute("data-rb-var");
      var isSecret = dt.classList.contains("rb-var-secret");
      var siteWide = dt.classList.contains("rb-var-site");
      var store = siteWide ? saved.site : saved.page;
      secret[name] = isSecret;
      var id = "rb-var-field-" + index;
      var label = el("label", { for: id });
      while (dt.firstChild) label.appendChild(dt.firstChild);
      var input = el("input", {
        id: id,
        type: isSecret ? "password" : "text",
        autocomplete: "off",
        autocapitalize: "off",
        spellcheck: "false",
        class: "rb-var-input",
      });
      var dd = dt.nextElementSibling;
      if (dd && dd.tagName === "DD") {
        dd.id = "rb-var-help-" + index;
        input.setAttribute("aria-describedby", dd.id);
      }
      if (!isSecret && own(store, name)) input.value = store[name];
      values[name] = input.value;
      // The value goes into the command as typed, never quoted (the command may already quote the placeholder):
      // a space or a shell character in it is said next to the field, before anyone runs the filled command.
      var warning = el(
        "span",
        { class: "rb-var-warn", id: id + "-warn", role: "status" },
        "\u26a0 Holds spaces or shell characters: it is filled in as typed, so check how the command quotes it.",
      );
      function warn() {
        warning.hidden = !UNSAFE_VALUE.test(input.value);
      }
      warn();
      input.addEventListener("input", function () {
        values[name] = input.value;
        warn();
        if (!isSecret) {
          if (input.value) store[name] = input.value;
          else delete store[name];
          storage.save(siteWide ? siteKey : pageKey, store);
        }
        fill(name);
      });
      dt.appendChild(label);
      dt.appendChild(input);
      dt.appendChild(warning);
      fields.push(input);
      fill(name);
    });
    if (!fields.length) return;

    var bar = el("p", { class: "rb-vars-actions" });
    var note = el(
      "span",
      { class: "rb-vars-hint" },
      "Typed values fill every command on this page and stay in this browser only; secrets are never stored. ",
    );
    var clear = el("button", { type: "button", class: "md-button rb-button" }, "Clear values");
    clear.addEventListener("click", function () {
      fields.forEach(function (input) {
        if (input.value) {
          input.value = "";
          input.dispatchEvent(new Event("input"));
        }
      });
      fields[0].focus();
    });
    bar.appendChild(note);
    bar.appendChild(clear);
    box.appendChild(bar);
    box.classList.add("rb-enhanced");
  }

  // ------------------------------------------------------------------ ticks

  function initTicks() {
    var hook = document.querySelector(".rb-progress");
    var area = content();
    var boxes = [];
    var section = "top";
    var counts = Object.create(null);
    // Document order: each checklist item is known by the section it is in and its place there, each step by its
    // heading's id (the step's permanent anchor).
    area
      .querySelectorAll(
        "h1[id], h2[id], h3[id], h4[id], h5[id], h6[id], .task-list-item input[type=checkbox]",
      )
      .forEach(function (node) {
        if (node.tagName !== "INPUT") {
          section = node.id;
          if (!node.classList.contains("rb-step")) return;
          var text = headingText(node);
          var box = el("input", { type: "checkbox", class: "rb-step-box", "aria-label": "Step done: " + text });
          node.insertBefore(box, node.firstChild);
          boxes.push({ key: "step:" + node.id, input: box, heading: node, label: text });
          return;
        }
        node.disabled = false;
        counts[section] = (counts[section] || 0) + 1;
        var item = node.closest(".task-list-item");
        if (!node.labels || !node.labels.length || !node.labels[0].textContent.trim()) {
          node.setAttribute("aria-label", item ? item.textContent.replace(/\s+/g, " ").trim() : "Done");
        }
        boxes.push({ key: "item:" + section + ":" + counts[section], input: node, item: item });
      });
    if (!boxes.length || !hook) return; // ticks on other pages are not kept: there is no reset control there

    var key = storageKey("ticks", false);
    var state = storage.load(key);
    if (!state.ticks || typeof state.ticks !== "object") state.ticks = {};

    function mark(entry) {
      var done = entry.input.checked;
      if (entry.heading) entry.heading.classList.toggle("rb-done", done);
      if (entry.item) entry.item.classList.toggle("rb-done", done);
    }

    boxes.forEach(function (entry) {
      entry.input.checked = Object.prototype.hasOwnProperty.call(state.ticks, entry.key);
      mark(entry);
      entry.input.addEventListener("change", function () {
        if (entry.input.checked) {
          state.ticks[entry.key] = Date.now();
          if (!state.started) state.started = state.ticks[entry.key];
        } else {
          delete state.ticks[entry.key];
        }
        storage.save(key, state);
        mark(entry);
        render();
      });
    });

    var panel = el("div", { class: "rb-progress-panel", role: "region", "aria-label": "Progress of this incident" });
    var status = el("p", { class: "rb-progress-status", "aria-live": "polite" });
    var actions = el("p", { class: "rb-progress-actions" });
    var next = el("a", { class: "rb-progress-next" });
    var reset = el("button", { type: "button", class: "md-button rb-button" }, "Reset ticks");
    var confirm = el("button", { type: "button", class: "md-button rb-button rb-danger", hidden: "" }, "Yes, clear all ticks");
    var cancel = el("button", { type: "button", class: "md-button rb-button", hidden: "" }, "Keep them");
    actions.appendChild(next);
    actions.appendChild(reset);
    actions.appendChild(confirm);
    actions.appendChild(cancel);
    panel.appendChild(status);
    panel.appendChild(actions);
    hook.appendChild(panel);

    function asking(on) {
      reset.hidden = on;
      confirm.hidden = !on;
      cancel.hidden = !on;
    }
    reset.addEventListener("click", function () {
      asking(true);
      confirm.focus();
    });
    cancel.addEventListener("click", function () {
      asking(false);
      reset.focus();
    });
    confirm.addEventListener("click", function () {
      state = { ticks: {} };
      storage.save(key, null);
      boxes.forEach(function (entry) {
        entry.input.checked = false;
        mark(entry);
      });
      asking(false);
      render();
      reset.focus();
    });

    function render() {
      var ticked = boxes.filter(function (entry) {
        return entry.input.checked;
      }).length;
      var steps = boxes.filter(function (entry) {
        return entry.heading;
      });
      var doneSteps = steps.filter(function (entry) {
        return entry.input.checked;
      }).length;
      var words = [];
      if (state.started && ticked) {
        var last = Math.max.apply(
          null,
          Object.keys(state.ticks).map(function (k) {
            return Number(state.ticks[k]) || 0;
          }),
        );
        words.push("Started at " + clock(state.started) + ", last tick " + clock(last) + ".");
      } else {
        words.push("Tick steps and checklist items as you go: this browser keeps them for this page until you reset.");
      }
      var items = boxes.length - steps.length;
      var counts = [];
      if (steps.length) counts.push(doneSteps + " of " + steps.length + " steps");
      if (items) counts.push(ticked - doneSteps + " of " + items + " checklist items");
      words.push(counts.join(" and ") + " done.");
      status.textContent = words.join(" ");
      var first = steps.filter(function (entry) {
        return !entry.input.checked;
      })[0];
      if (first && ticked) {
        next.textContent = "Next step: " + first.label;
        next.setAttribute("href", "#" + first.heading.id);
        next.hidden = false;
      } else {
        next.hidden = true;
      }
      reset.disabled = !ticked;
    }
    render();
  }

  // ------------------------------------------------------------------ alerts filter

  function initFilter() {
    var hook = document.querySelector(".rb-filter");
    if (!hook) return;
    var area = content();
    var entries = [];
    area.querySelectorAll("h2.rb-alert").forEach(function (heading) {
      var nodes = [heading];
      var node = heading.nextElementSibling;
      while (node && !/^H[12]$/.test(node.tagName) && !node.classList.contains("md-source-file")) {
        nodes.push(node);
        node = node.nextElementSibling;
      }
      entries.push({ name: headingText(heading).toLowerCase(), nodes: nodes });
    });
    if (!entries.length) return;
    var id = "rb-filter-alerts";
    var label = el("label", { for: id }, "Filter alerts by name");
    var input = el("input", { id: id, type: "search", autocomplete: "off", spellcheck: "false", class: "rb-filter-input" });
    var count = el("p", { class: "rb-filter-count", "aria-live": "polite" });
    hook.appendChild(label);
    hook.appendChild(input);
    hook.appendChild(count);

    function apply() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      entries.forEach(function (entry) {
        var match = words.every(function (word) {
          return entry.name.indexOf(word) !== -1;
        });
        if (match) shown += 1;
        entry.nodes.forEach(function (node) {
          node.classList.toggle("rb-filtered-out", !match);
        });
      });
      count.textContent = words.length
        ? shown + " of " + entries.length + " alerts match."
        : entries.length + " alerts.";
    }
    input.addEventListener("input", apply);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && input.value) {
        input.value = "";
        apply();
      }
    });
    var given = new URLSearchParams(location.search).get("filter");
    if (given) input.value = given;
    apply();
  }

  // ------------------------------------------------------------------ boxes that scroll sideways

  /** A table or diagram wider than the column scrolls in its own box: such a box must take keyboard focus (so
   * it can be scrolled without a mouse) and say what it is. Diagrams are drawn after load, so boxes are looked at
   * again whenever one appears or changes size. */
  function initScrollables() {
    var area = content();
    var seen = typeof WeakSet === "function" ? new WeakSet() : null;
    var resized = typeof ResizeObserver === "function" ? new ResizeObserver(later) : null;
    var pending = false;

    function check() {
      pending = false;
      area.querySelectorAll(".md-typeset__scrollwrap, div.mermaid").forEach(function (box) {
        if (resized && seen && !seen.has(box)) {
          seen.add(box);
          resized.observe(box);
        }
        var scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
        var ours = box.hasAttribute("data-rb-scroll");
        if (scrolls && !ours && !box.hasAttribute("tabindex")) {
          box.setAttribute("tabindex", "0");
          box.setAttribute("data-rb-scroll", "");
          if (!box.hasAttribute("role")) {
            box.setAttribute("role", "region");
            box.setAttribute("aria-label", box.classList.contains("mermaid") ? "Diagram, scrolls" : "Table, scrolls");
          }
        } else if (!scrolls && ours) {
          ["tabindex", "data-rb-scroll", "role", "aria-label"].forEach(function (name) {
            box.removeAttribute(name);
          });
        }
      });
    }
    function later() {
      if (!pending) {
        pending = true;
        window.requestAnimationFrame(check);
      }
    }
    later();
    window.addEventListener("resize", later);
    if (typeof MutationObserver === "function") new MutationObserver(later).observe(area, { childList: true, subtree: true });
  }

  function start() {
    initVariables();
    initTicks();
    initFilter();
    initScrollables();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
