// Sesame's one script: the WebAuthn browser API for passkeys. Served as
// /static/passkey.js under the page CSP (script-src 'self' by default-src,
// no inline script, no inline event handlers); it only runs on the pages
// that include it (sign-in and account). It posts JSON to the passkey
// endpoints with the page's CSRF token and never sees a session token.
"use strict";
(function () {
  function b64urlToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function bufToB64url(b) {
    var bytes = new Uint8Array(b), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function csrfToken() {
    var el = document.querySelector('input[name="csrf_token"]');
    return el ? el.value : "";
  }
  function post(path, body) {
    return fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.text().then(function (t) {
        var data = t ? JSON.parse(t) : {};
        if (!res.ok) throw new Error((data.error && data.error.message) || ("request failed: " + res.status));
        return data;
      });
    });
  }
  function show(id, text) {
    var el = document.getElementById(id);
    if (el) { el.textContent = text; el.hidden = !text; }
  }
  // The server's options carry byte fields as base64url; the browser API
  // wants ArrayBuffers.
  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = b64urlToBuf(pk.challenge);
    pk.user.id = b64urlToBuf(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    return { publicKey: pk };
  }
  function requestOptions(o) {
    var pk = o.publicKey;
    pk.challenge = b64urlToBuf(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    return { publicKey: pk };
  }
  function credentialJSON(c) {
    var r = c.response, out = {
      id: c.id, rawId: bufToB64url(c.rawId), type: c.type,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: bufToB64url(r.clientDataJSON) }
    };
    if (c.authenticatorAttachment) out.authenticatorAttachment = c.authenticatorAttachment;
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64url(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = bufToB64url(r.authenticatorData);
      out.response.signature = bufToB64url(r.signature);
      if (r.userHandle) out.response.userHandle = bufToB64url(r.userHandle);
    }
    return out;
  }
  function register(btn) {
    show("passkey-error", "");
    var name = document.getElementById("passkey-name");
    btn.disabled = true;
    post("/api/v1/passkeys/register/begin").then(function (o) {
      return navigator.credentials.create(creationOptions(o));
    }).then(function (c) {
      return post("/api/v1/passkeys/register/finish", { name: name ? name.value : "", credential: credentialJSON(c) });
    }).then(function () {
      window.location.assign("/account?done=passkey");
    }).catch(function (e) {
      btn.disabled = false;
      show("passkey-error", e.message || String(e));
    });
  }

  function signIn(btn, begin, finish) {
    show("passkey-error", "");
    btn.disabled = true;
    var remember = document.getElementById("remember");
    post(begin).then(function (o) {
      return navigator.credentials.get(requestOptions(o));
    }).then(function (c) {
      return post(finish, {
        credential: credentialJSON(c), remember: !!(remember && remember.checked),
        next: btn.getAttribute("data-next") || ""
      });
    }).then(function (res) {
      // The server checked the return target as the login form's.
      window.location.assign(res.next || "/account");
    }).catch(function (e) {
      btn.disabled = false;
      show("passkey-error", e.message || String(e));
    });
  }

  // A step-up with the password and a passkey (a user whose second
  // factor is a passkey).
  function stepUp(btn) {
    show("passkey-error", "");
    var pw = document.getElementById("reauth-password");
    if (!pw || !pw.value) { show("passkey-error", "Enter your password first."); return; }
    btn.disabled = true;
    post("/api/v1/reauthenticate/passkey/begin").then(function (o) {
      return navigator.credentials.get(requestOptions(o));
    }).then(function (c) {
      return post("/api/v1/reauthenticate/passkey/finish", {
        password: pw.value, credential: credentialJSON(c), next: btn.getAttribute("data-next") || ""
      });
    }).then(function (res) {
      window.location.assign(res.next || "/account");
    }).catch(function (e) {
      btn.disabled = false;
      show("passkey-error", e.message || String(e));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.PublicKeyCredential) return; // the buttons stay hidden
    var reg = document.getElementById("passkey-register");
    if (reg) {
      reg.hidden = false;
      reg.addEventListener("click", function () { register(reg); });
    }
    var login = document.getElementById("passkey-login");
    if (login) {
      login.hidden = false;
      login.addEventListener("click", function () {
        signIn(login, "/api/v1/login/passkey/begin", "/api/v1/login/passkey/finish");
      });
    }
    var reauth = document.getElementById("passkey-reauth");
    if (reauth) {
      reauth.hidden = false;
      reauth.addEventListener("click", function () { stepUp(reauth); });
    }
    var second = document.getElementById("passkey-second-factor");
    if (second) {
      second.hidden = false;
      second.addEventListener("click", function () {
        signIn(second, "/api/v1/login/second-factor/passkey/begin", "/api/v1/login/second-factor/passkey/finish");
      });
    }
  });
})();
