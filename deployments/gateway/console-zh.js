// Injected by the gateway into Prefect's classic UI (next to session.js): presents the UI in
// Simplified Chinese. Prefect has no localisation of its own, so this translates what the UI
// renders: text nodes and the attributes placeholder / title / aria-label (and the value of
// button inputs), from the dictionary /gateway/console-zh.json (exact strings first, then
// anchored patterns), keyed to the pinned Prefect version. Dates and times the UI formats in the
// browser's timezone are rewritten to Beijing time in Chinese format. User data (run names,
// parameters, code blocks, form inputs) is left alone: only exact English UI strings and
// English date shapes match. See docs/console.md.
(function () {
  "use strict";
  // The "Prefect Cloud" advert in the UI's error toast reads this key (the Dashboard sets it from
  // the server's setting, but a clerk may meet the toast before ever opening the Dashboard).
  // Its Dashboard writes the server's setting there under a name the 3.9 server no longer sends
  // (so "undefined", i.e. show the advert): that key always stays "false".
  var PROMO = "prefect-show-promotional-content";
  try {
    var setItem = Storage.prototype.setItem;
    Storage.prototype.setItem = function (key, value) {
      return setItem.call(this, key, key === PROMO ? "false" : value);
    };
    localStorage.setItem(PROMO, "false");
  } catch (e) { /* storage unavailable: the CSS below still hides the link */ }
  // No Prefect Cloud links; no run graph: it is drawn on a canvas (English, the browser's time),
  // which no text translation reaches, and the office does not need it (docs/console.md).
  var style = document.createElement("style");
  // On a phone a wide table in a dialog (a gate's description) scrolls in its own box instead of
  // pushing the dialog, its labels and buttons off the screen.
  style.textContent = 'a[href*="prefect.cloud"],.flow-run-graphs{display:none!important}' +
    '.p-modal__card{min-width:0}.p-modal__body{overflow-x:hidden}' +
    '.p-modal__body table{display:block;max-width:100%;overflow-x:auto}';
  (document.head || document.documentElement).appendChild(style);

  var TEXT = Object.create(null);
  var PATTERNS = [];
  // Code, JSON and editors are data; the run's log list sits in a <code> but its rows are the
  // engine's sentences (translated only where a whole message matches a pattern).
  var SKIP = "script,style,textarea,code,pre,.monaco-editor,.cm-editor,[contenteditable=''],[contenteditable=true],.xuncha-zh-skip";
  var UNSKIP = ".log-row,.logs__divider";
  var ATTRS = ["placeholder", "title", "aria-label"];
  var ZONE = "Asia/Shanghai";
  var DURATION_RE = /^<?\s*(\d+(?:\.\d+)?[dhms]\s*)+$/;
  var UNITS = { d: "天", h: "小时", m: "分", s: "秒" };
  var MONTHS = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11,
    January: 0, February: 1, March: 2, April: 3, June: 5, July: 6, August: 7, September: 8, October: 9,
    November: 10, December: 11 };
  var MONTH = "(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:tember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)";
  var TIME = "(\\d{1,2}):(\\d{2})(?::(\\d{2}))?\\s?([AaPp][Mm])";
  // "Dec 1st, 2026 at 01:28 AM", "Dec 1st at 01:28 AM", "Dec 1st, 2026", "Dec 1, 2026 1:28 PM"
  var DATE_RE = new RegExp("\\b" + MONTH + " (\\d{1,2})(?:st|nd|rd|th)?(?:,? (\\d{4}))?(?:,? (?:at )?" + TIME + ")?", "g");
  // "2026/12/01 01:28:28 AM"
  var NUMERIC_RE = new RegExp("\\b(\\d{4})/(\\d{2})/(\\d{2}) " + TIME, "g");
  var TIME_RE = new RegExp("(^|[^\\d:])" + TIME + "(?![\\w])", "g");
  var parts = new Intl.DateTimeFormat("en-US", { timeZone: ZONE, hourCycle: "h23", year: "numeric", month: "numeric",
    day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });

  function beijing(date) {
    var out = {};
    parts.formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    return out;
  }
  function hours(h, ampm) {
    h = +h % 12;
    return /p/i.test(ampm) ? h + 12 : h;
  }
  function clock(b, seconds) {
    return b.hour + ":" + b.minute + (seconds ? ":" + b.second : "");
  }
  function fromParts(year, month, day, h, m, s, ampm) {
    // The UI formatted a local (browser) time: read it back as such, then show it in Beijing.
    var d = new Date(year, month, day, hours(h, ampm), +m, +(s || 0));
    var b = beijing(d);
    return b.year + "年" + b.month + "月" + b.day + "日 " + clock(b, s !== undefined);
  }
  function dates(text) {
    if (!/\d/.test(text)) return text;
    var now = new Date();
    text = text.replace(NUMERIC_RE, function (all, y, mo, d, h, m, s, ap) {
      return fromParts(+y, +mo - 1, +d, h, m, s, ap);
    });
    text = text.replace(DATE_RE, function (all, mon, d, y, h, m, s, ap) {
      var year = y ? +y : now.getFullYear();
      if (h === undefined) return (y ? year + "年" : "") + (MONTHS[mon] + 1) + "月" + (+d) + "日";
      return fromParts(year, MONTHS[mon], +d, h, m, s, ap);
    });
    return text.replace(TIME_RE, function (all, lead, h, m, s, ap) {
      var d = new Date(now.getFullYear(), now.getMonth(), now.getDate(), hours(h, ap), +m, +(s || 0));
      return lead + clock(beijing(d), s !== undefined);
    });
  }

  function lookup(s) {
    var t = TEXT[s];
    if (t !== undefined) return t;
    var squeezed = s.replace(/\s+/g, " ");
    return squeezed !== s ? TEXT[squeezed] : undefined;
  }
  function translate(value) {
    var core = value.trim();
    if (!core || !/[A-Za-z]/.test(core)) return value;
    var out = lookup(core);
    if (out === undefined) {
      for (var i = 0; i < PATTERNS.length && out === undefined; i++) {
        var m = PATTERNS[i][0].exec(core);
        if (m) {
          out = PATTERNS[i][1].replace(/([$%])(\d)/g, function (all, kind, n) {
            var g = m[+n] === undefined ? "" : m[+n];
            if (kind === "%") {
              var t = lookup(g.trim());
              return t === undefined ? dates(g) : t;
            }
            return g;
          });
        }
      }
    }
    if (out === undefined && DURATION_RE.test(core)) {  // "1h 5m 30s", "<1s": the UI's durations
      out = core.replace(/(\d+(?:\.\d+)?)([dhms])/g, function (all, n, u) { return n + UNITS[u]; })
        .replace(/\s+/g, "").replace("<", "不到");
    }
    if (out === undefined) out = dates(core);
    if (out === core) return value;
    var lead = value.match(/^\s*/)[0];
    var trail = value.match(/\s*$/)[0];
    return lead + out + trail;
  }

  function skipped(el) {
    return !el || (el.closest && el.closest(SKIP) !== null && el.closest(UNSKIP) === null);
  }
  // "@label" in a translation: the title of the form field the message stands under.
  function fieldLabel(el) {
    var field = el && el.closest(".schema-form-property, .p-label");
    var label = field && field.querySelector("label, .p-label__label");
    var text = label ? label.textContent.replace(/（选填）|\(Optional\)/g, "").trim() : "";
    return text || "此项";
  }
  function textNode(node) {
    var v = node.nodeValue;
    if (!v || !/[A-Za-z]/.test(v) || skipped(node.parentElement)) return;
    var t = translate(v);
    if (t.indexOf("@label") >= 0) t = t.replace("@label", fieldLabel(node.parentElement));
    if (t !== v) node.nodeValue = t;
  }
  function attributes(el) {
    if (skipped(el)) return;
    for (var i = 0; i < ATTRS.length; i++) {
      var v = el.getAttribute(ATTRS[i]);
      if (v && /[A-Za-z]/.test(v)) {
        var t = translate(v);
        if (t !== v) el.setAttribute(ATTRS[i], t);
      }
    }
    if (el.tagName === "INPUT" && /^(button|submit|reset)$/i.test(el.type) && el.value) {
      var tv = translate(el.value);
      if (tv !== el.value) el.value = tv;
    }
  }
  function walk(root) {
    if (root.nodeType === 3) { textNode(root); return; }
    if (root.nodeType !== 1 && root.nodeType !== 11) return;
    if (root.nodeType === 1) {
      if (skipped(root) && !root.querySelector(UNSKIP)) return;
      attributes(root);
    }
    var it = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    var n;
    while ((n = it.nextNode())) {
      if (n.nodeType === 3) textNode(n); else attributes(n);
    }
  }

  // On a phone the flow run page folds its actions (Resume among them) into the ⋮ menu: a paused
  // run gets a visible 办理 button that opens that menu and picks its 办理 item, i.e. the UI's own
  // Resume dialog, whose submission goes through the gateway's role check like any other.
  var checkedRun = null;
  var paused = false;
  function resumeButton() {
    var m = location.pathname.match(/^\/runs\/flow-run\/([0-9a-f-]{36})/);
    var heading = document.querySelector(".page-heading-flow-run");
    var existing = document.getElementById("xuncha-resume");
    if (!m || !heading || window.innerWidth >= 640) {
      if (existing) existing.remove();
      return;
    }
    if (checkedRun !== m[1]) {
      checkedRun = m[1];
      paused = false;
      fetch("/api/flow_runs/" + m[1], { credentials: "same-origin" }).then(function (r) {
        return r.ok ? r.json() : null;
      }).then(function (run) {
        paused = !!(run && run.state && run.state.type === "PAUSED");
        resumeButton();
      });
      return;
    }
    if (!paused) { if (existing) existing.remove(); return; }
    if (existing) return;
    var menu = heading.querySelector(".p-icon-button-menu button, button[aria-haspopup], .p-pop-over button");
    if (!menu) return;
    var b = document.createElement("button");
    b.id = "xuncha-resume";
    b.type = "button";
    b.textContent = "办理";
    b.style.cssText = "margin-right:8px;padding:6px 14px;border-radius:6px;border:0;background:#2563eb;color:#fff;" +
      "font-size:15px;cursor:pointer";
    b.addEventListener("click", function () {
      menu.click();
      var tries = 0;
      (function pick() {
        var items = document.querySelectorAll("[role=menuitem], .p-overflow-menu-item, .p-overflow-menu__item");
        for (var i = 0; i < items.length; i++) {
          if (items[i].textContent.trim() === "办理" || items[i].textContent.trim() === "Resume") {
            items[i].click();
            return;
          }
        }
        if (++tries < 40) setTimeout(pick, 50);
      })();
    });
    menu.parentElement.insertBefore(b, menu);
  }

  var queued = [];
  var scheduled = false;
  function flush() {
    scheduled = false;
    var batch = queued;
    queued = [];
    for (var i = 0; i < batch.length; i++) walk(batch[i]);
    resumeButton();
  }
  function start() {
    walk(document.body);
    document.title = translate(document.title);
    new MutationObserver(function (records) {
      for (var i = 0; i < records.length; i++) {
        var r = records[i];
        if (r.type === "childList") {
          for (var j = 0; j < r.addedNodes.length; j++) queued.push(r.addedNodes[j]);
        } else if (r.type === "characterData") {
          queued.push(r.target);
        } else if (r.type === "attributes") {
          attributes(r.target);
        }
      }
      if (!scheduled && queued.length) {
        scheduled = true;
        // Before the next paint, so English hardly ever flashes.
        (window.queueMicrotask || setTimeout)(flush);
      } else {
        resumeButton();
      }
    }).observe(document.documentElement, { childList: true, subtree: true, characterData: true,
      attributes: true, attributeFilter: ATTRS.concat(["value"]) });
    window.addEventListener("resize", resumeButton);
    var title = document.querySelector("title");
    if (title) new MutationObserver(function () {
      var t = translate(document.title);
      if (t !== document.title) document.title = t;
    }).observe(title, { childList: true, characterData: true, subtree: true });
  }

  window.xunchaConsoleZh = { translate: function (s) { return translate(s); } };  // for tests and debugging
  fetch("/gateway/console-zh.json", { credentials: "same-origin" }).then(function (r) {
    return r.ok ? r.json() : null;
  }).then(function (dict) {
    if (!dict) return;
    TEXT = Object.assign(Object.create(null), dict.text || {});
    PATTERNS = (dict.patterns || []).map(function (p) { return [new RegExp(p[0]), p[1]]; });
    if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
  });
})();
