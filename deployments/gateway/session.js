// Injected by the gateway into the Prefect UI: who is logged in, logout, the activity that keeps
// the session alive (the UI's own polling does not), the return to the login page when the
// session has ended, and the Chinese reason when the gateway refuses a call.
(function () {
  "use strict";
  var lastPing = 0;
  var leaving = false; // logging out: the polls' 401s must not send the page elsewhere
  function ping() {
    var now = Date.now();
    if (now - lastPing < 20000) return;
    lastPing = now;
    fetch("/gateway/activity", { method: "POST", credentials: "same-origin" }).then(check);
  }
  function toLogin(reason) {
    if (leaving || location.pathname === "/login") return;
    leaving = true;
    var next = encodeURIComponent(location.pathname + location.search);
    location.assign("/login?" + (reason ? "reason=" + encodeURIComponent(reason) + "&" : "") + "next=" + next);
  }
  function check(r) {
    if (r && r.status === 401) r.json().then(function (b) { toLogin(b.reason); }, function () { toLogin(); });
  }
  ["click", "keydown", "input"].forEach(function (e) {
    window.addEventListener(e, ping, { capture: true, passive: true });
  });
  setInterval(function () {
    fetch("/gateway/me", { credentials: "same-origin" }).then(check);
  }, 10000);

  // A 403 is a refusal of the person ("未获准"); any other 4xx with the header is a form the
  // gateway sent back (e.g. 400 "未运行“发起巡察”，请修改表单后再提交……"), shown as it is.
  function showRefusal(text) {
    var box = document.getElementById("xuncha-refused");
    if (!box) {
      box = document.createElement("div");
      box.id = "xuncha-refused";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;left:50%;top:56px;transform:translateX(-50%);z-index:100000;" +
        "background:#fee2e2;color:#991b1b;border:1px solid #f87171;padding:12px 40px 12px 16px;border-radius:6px;" +
        "max-width:640px;font-size:15px;box-shadow:0 2px 10px #0003;white-space:pre-line";
      var close = document.createElement("button");
      close.textContent = "×";
      close.setAttribute("aria-label", "关闭");
      close.style.cssText = "position:absolute;right:8px;top:6px;border:0;background:none;font-size:18px;cursor:pointer";
      close.onclick = function () { box.remove(); };
      box.appendChild(document.createElement("span"));
      box.appendChild(close);
      document.body.appendChild(box);
    }
    box.firstChild.textContent = text;
  }
  function refusedHeader(status, get) {
    var v = get("x-xuncha-refused");
    if (!v) return;
    refusedAt = Date.now();
    showRefusal((status === 403 ? "未获准：" : "") + decodeURIComponent(v));
  }
  // Prefect's console answers any 401/403 with its own toast, "Oops. Something went wrong. Please
  // check your connection and try again." (usePrefectApi's interceptor): beside the gateway's reason
  // it sends a refused person to check the network. The toast that comes with a refusal is
  // dismissed by its own close button (Vue removes it; the console shows it once per page anyway).
  var refusedAt = 0;
  var NETWORK = ["Please check your connection and try again.", "请检查网络连接后重试。"];
  new MutationObserver(function (records) {
    if (Date.now() - refusedAt > 5000) return;
    records.forEach(function (rec) {
      rec.addedNodes.forEach(function (node) {
        var el = node.nodeType === 1 ? node : node.parentElement;
        var toast = el && el.closest ? el.closest(".p-toast-container__toast") || el.querySelector(".p-toast-container__toast") : null;
        if (!toast || !NETWORK.some(function (t) { return (toast.textContent || "").indexOf(t) >= 0; })) return;
        var close = toast.querySelector(".p-toast__close-btn");
        if (close) setTimeout(function () { close.click(); }, 0);
      });
    });
  }).observe(document.documentElement, { childList: true, subtree: true });
  var origFetch = window.fetch;
  window.fetch = function () {
    return origFetch.apply(this, arguments).then(function (r) {
      if (r.status >= 400 && r.status < 500) refusedHeader(r.status, function (h) { return r.headers.get(h); });
      return r;
    });
  };
  var origSend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function () {
    var xhr = this;
    xhr.addEventListener("load", function () {
      if (xhr.status >= 400 && xhr.status < 500) refusedHeader(xhr.status, function (h) { return xhr.getResponseHeader(h); });
      if (xhr.status === 401) {
        var reason = "";
        try { reason = JSON.parse(xhr.responseText).reason || ""; } catch (e) { /* not ours */ }
        toLogin(reason);
      }
    });
    return origSend.apply(this, arguments);
  };

  function bar() {
    fetch("/gateway/me", { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) return check(r);
      return r.json().then(function (me) {
        var el = document.createElement("div");
        el.id = "xuncha-user";
        el.style.cssText = "position:fixed;right:12px;bottom:10px;z-index:99999;background:#fff;color:#111;border:1px solid #ddd;" +
          "border-radius:6px;padding:6px 10px;font-size:13px;box-shadow:0 1px 6px #0002";
        var who = document.createElement("span");
        who.textContent = me.name + "（" + me.role + "）";
        var pw = document.createElement("a");
        pw.href = "/password";
        pw.textContent = "修改密码";
        pw.style.cssText = "margin:0 8px;color:#1d4ed8";
        var form = document.createElement("form");
        form.method = "post";
        form.action = "/logout";
        form.style.display = "inline";
        form.addEventListener("submit", function () { leaving = true; });
        var out = document.createElement("button");
        out.type = "submit";
        out.textContent = "退出";
        form.appendChild(out);
        el.appendChild(who); el.appendChild(pw); el.appendChild(form);
        document.body.appendChild(el);
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", bar); else bar();
})();
