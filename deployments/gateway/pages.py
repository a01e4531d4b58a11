"""The gateway's own pages, in Chinese: login, second factor (with enrolment), password change."""

from __future__ import annotations

from html import escape

from tasks.lifecycle.gate_summary import Summary

STYLE = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;background:#f3f4f6;margin:0}
main{max-width:420px;margin:8vh auto;background:#fff;padding:32px 36px;border-radius:8px;box-shadow:0 2px 12px #0002}
h1{font-size:22px;margin:0 0 4px}p.sub{color:#666;margin:0 0 20px}
label{display:block;margin:14px 0 4px;color:#333}
input{width:100%;box-sizing:border-box;padding:9px 10px;font-size:16px;border:1px solid #bbb;border-radius:4px}
button{margin-top:22px;width:100%;padding:10px;font-size:16px;background:#b91c1c;color:#fff;border:0;border-radius:4px;cursor:pointer}
.error{background:#fee2e2;color:#991b1b;padding:10px 12px;border-radius:4px;margin:12px 0}
.notice{background:#e0f2fe;color:#075985;padding:10px 12px;border-radius:4px;margin:12px 0}
code{word-break:break-all;background:#f3f4f6;padding:2px 4px}
.secret{font-size:20px;letter-spacing:2px;font-family:monospace}
.qr{text-align:center;margin:8px 0}.qr svg{width:200px;height:200px}
.hint{color:#555;font-size:14px}
summary{cursor:pointer;color:#555}
.subject{margin:14px 0;line-height:1.6;overflow-wrap:anywhere}
.subject h2{font-size:17px;margin:18px 0 6px}.subject ul{margin:4px 0;padding-left:1.3em}
.subject li{margin:2px 0}select.decision{width:100%;padding:9px;font-size:16px}.subject .intro{color:#444}
@media (max-width:480px){main{margin:0;border-radius:0;box-shadow:none;padding:20px 16px}}
"""


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{escape(title)} - 巡察工作系统</title>'
            f'<style>{STYLE}</style></head><body><main>{body}</main></body></html>')


def _messages(error: str = "", notice: str = "") -> str:
    out = f'<div class="error" role="alert">{escape(error)}</div>' if error else ""
    return out + (f'<div class="notice" role="status">{escape(notice)}</div>' if notice else "")


def _csrf(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{escape(token)}">' if token else ""


def login_page(*, error: str = "", notice: str = "", next_url: str = "/", name: str = "", csrf: str = "") -> str:
    return page("登录", f"""
<h1>巡察工作系统</h1><p class="sub">请使用本人账户登录</p>{_messages(error, notice)}
<form method="post" action="/login">
<input type="hidden" name="next" value="{escape(next_url)}">{_csrf(csrf)}
<label for="name">姓名</label><input id="name" name="name" autocomplete="username" value="{escape(name)}" required>
<label for="password">密码</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">登录</button></form>""")


def qr_svg(uri: str) -> str:
    """The otpauth:// address as an inline SVG QR code (segno: pure Python, no image library)."""
    import segno

    return str(segno.make(uri, error="m").svg_inline(scale=5, border=2, title="动态口令绑定二维码"))


def totp_page(*, name: str, error: str = "", secret: str = "", uri: str = "", csrf: str = "") -> str:
    if secret:
        grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
        intro = f"""<h1>绑定动态口令</h1><p class="sub">{escape(name)}：您的账户须使用动态口令（第二重验证）。</p>
<p>请用手机的身份验证器应用（如 Microsoft Authenticator、Google 身份验证器、FreeOTP）<b>扫描下面的二维码</b>添加账户；
不能扫码的，在应用中选“输入密钥”（基于时间），输入二维码下面的密钥。</p>
<div class="qr" id="totp-qr">{qr_svg(uri)}</div>
<p>密钥：<span class="secret" id="totp-secret">{escape(grouped)}</span></p>
<details><summary>地址（支持链接的应用可直接打开）</summary><p><code id="totp-uri">{escape(uri)}</code></p></details>
<p class="hint">绑定完成前刷新本页或输错口令，密钥都不变（本页10分钟内有效，过期须重新登录并换一个新密钥）；<b>绑定后不再显示</b>。如更换手机，请联系巡察办重置。</p>
<p>添加后，请输入应用中显示的六位数字完成绑定。</p>"""
    else:
        intro = f'<h1>动态口令</h1><p class="sub">{escape(name)}：请输入身份验证器应用中显示的六位数字。</p>'
    return page("动态口令", f"""{intro}{_messages(error)}
<form method="post" action="/login/totp">{_csrf(csrf)}
<label for="code">动态口令</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="8" required>
<button type="submit">验证</button></form>""")


def password_page(*, name: str, forced: bool, error: str = "", csrf: str = "") -> str:
    why = "首次登录（或密码被重置）后须设置本人的新密码。" if forced else "修改本人的登录密码。"
    return page("修改密码", f"""<h1>修改密码</h1><p class="sub">{escape(name)}：{why}</p>{_messages(error)}
<p>新密码至少10位，须同时包含字母和数字，不能包含本人姓名。</p>
<form method="post" action="/password">{_csrf(csrf)}
<label for="old">原密码</label><input id="old" name="old" type="password" autocomplete="current-password" required>
<label for="new">新密码</label><input id="new" name="new" type="password" autocomplete="new-password" required>
<label for="repeat">再次输入新密码</label><input id="repeat" name="repeat" type="password" autocomplete="new-password" required>
<button type="submit">保存新密码</button></form>""")


def stale_page(reason: str, path: str) -> str:
    """A form of the login steps whose token no longer matches (another tab went on, or another site sent it)."""
    return page("页面已过期", f'<h1>页面已过期</h1>{_messages(reason)}<p><a href="{escape(path)}">重新打开</a></p>')


def summary_html(summary: Summary | None) -> str:
    """What the decision is about (tasks/lifecycle/gate_summary.py), as short lists for a phone."""
    if summary is None:
        return ""
    facts = "".join(f"<li>{escape(f)}</li>" for f in summary.facts)
    parts = [f'<p class="intro">{escape(summary.intro)}</p>' if summary.intro else "", f"<ul>{facts}</ul>" if facts else ""]
    for s in summary.sections:
        lines = "".join(f"<li>{escape(line)}</li>" for line in s.lines or ("无",))
        parts.append(f"<h2>{escape(s.title)}</h2><ul>{lines}</ul>")
    return f'<section class="subject" aria-label="审批事项">{"".join(parts)}</section>'


def phone_page(*, gate: str, subject: str = "", options: list[str], error: str = "", notice: str = "",
               done: bool = False, values: dict[str, str] | None = None, summary: Summary | None = None,
               approver: str = "") -> str:
    """A gate answered from the link in the alert, without a full login: the approver's name and
    the one-time code the alert carried prove who answers (tasks/identity/phone.py). Before a valid
    code the page shows the gate's name only; with one (`approver` set), what is decided — read
    from the database as the page opens — and the decision form, which carries name and code on."""
    head = f'<h1>{escape(gate)}</h1>' + (f'<p class="sub">{escape(subject)}</p>' if subject else "")
    head += _messages(error, notice)
    if done or not options:
        return page(gate, head + '<p><a href="/login">登录后查看</a></p>')
    v = values or {}
    if not approver:
        return page(gate, f"""{head}
<p>请填写本人姓名和提醒中的验证码（验证码只发给本审批的办理人，只能用于这一次审批），核验后显示审批事项。也可<a href="/login">登录</a>后在流程页面办理。</p>
<form method="post">
<label for="approver">审批人（本人姓名）</label><input id="approver" name="approver" value="{escape(v.get("approver", ""))}" required>
<label for="code">验证码</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="12" required>
<button type="submit">核验</button></form>""")
    head += summary_html(summary)
    choices = "".join(f'<option value="{escape(o)}"{" selected" if v.get("decision") == o else ""}>{escape(o)}</option>'
                      for o in options)
    return page(gate, f"""{head}
<form method="post">
<input type="hidden" name="approver" value="{escape(approver)}"><input type="hidden" name="code" value="{escape(v.get("code", ""))}">
<p>审批人：{escape(approver)}</p>
<label for="decision">审批决定</label><select id="decision" name="decision" class="decision">{choices}</select>
<label for="comment">意见</label><input id="comment" name="comment" value="{escape(v.get("comment", ""))}">
<button type="submit">提交</button></form>""")
