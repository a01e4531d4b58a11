// Injected by the gateway into the Prefect UI beside session.js: a link back to 我的待办 (the
// office pages) on every console page, and, for everyone but 巡察办, the engineering menus hidden.
// Hiding is tidiness only: the gateway refuses those routes' API calls (policy.py READ_ROUTES).
(function () {
  "use strict";
  // The UI's routes of platform engineering (the dashboard's work-pool cards, work pools, blocks,
  // variables, automations, event feed, concurrency, settings), as policy.py OFFICE_PAGES; matched
  // by address, so the sidebar's wording does not matter.
  var ENGINEERING = ["/dashboard", "/work-pools", "/work-queues", "/blocks", "/variables", "/automations", "/events",
    "/concurrency-limits", "/settings", "/integrations"];
  var OFFICE = "巡察办";
  // The UI reads some engineering data by itself on every page (server settings, the work pool,
  // the run's events); the gateway refuses those for everyone but the office (policy.py). The
  // person did not ask for them, so session.js's red banner for that refusal is taken away again.
  var QUIET = "无权查看流程平台的管理配置";

  function isEngineering(path) {
    return ENGINEERING.some(function (p) { return path === p || path.indexOf(p + "/") === 0; });
  }

  function link() {
    if (document.getElementById("xuncha-nav")) return;
    var el = document.createElement("nav");
    el.id = "xuncha-nav";
    el.setAttribute("aria-label", "办公页面");
    el.style.cssText = "position:fixed;left:12px;bottom:10px;z-index:99999;background:#1d4ed8;border-radius:6px;" +
      "box-shadow:0 1px 6px #0003;font-size:14px";
    var a = document.createElement("a");
    a.href = "/office/";
    a.textContent = "我的待办（办公页面）";
    a.title = "回到办公页面：我的待办、整改事项、问题线索、信访举报";
    a.style.cssText = "display:inline-block;padding:8px 12px;color:#fff;text-decoration:none";
    el.appendChild(a);
    document.body.appendChild(el);
  }

  function hideEngineering() {
    var box = document.getElementById("xuncha-refused");
    if (box && box.textContent.indexOf(QUIET) >= 0) box.remove();
    var links = document.querySelectorAll("a[href]");
    for (var i = 0; i < links.length; i++) {
      var href = links[i].getAttribute("href") || "";
      if (href.charAt(0) === "/" && isEngineering(href.split("?")[0])) links[i].style.display = "none";
    }
    if (isEngineering(location.pathname)) location.replace("/runs");
  }

  function start() {
    link();
    fetch("/gateway/me", { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) return null;
      return r.json();
    }).then(function (me) {
      if (!me || me.role === OFFICE) return;
      hideEngineering();
      new MutationObserver(hideEngineering).observe(document.body, { childList: true, subtree: true });
      window.addEventListener("popstate", hideEngineering);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
