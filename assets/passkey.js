// Eligo portal: passkeys (WebAuthn). The server's options and the browser's answers travel as
// JSON with base64url binary fields (webauthn-rs's shape); navigator.credentials wants
// ArrayBuffers, so this file converts both ways. Every behaviour hangs off data- attributes
// (the CSP forbids inline script), every post carries the form's anti-forgery token, and the
// server decides everything: this only carries the challenge to the authenticator and back.
//   form[data-passkey-register]  Security info's "Add a passkey"
//   form[data-passkey-proof]     a form whose second factor may be a passkey (step-up,
//                                activation, approvals): used when its code field is empty
//   form[data-passkey-sign-in]   the sign-in form's "Use a passkey" button
(function () {
  "use strict";

  function fromB64(s) {
    s = String(s).replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64(buf) {
    if (!buf) return null;
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64(pk.challenge);
    pk.user.id = fromB64(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = fromB64(c.id); });
    return { publicKey: pk };
  }
  function requestOptions(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = fromB64(c.id); });
    return { publicKey: pk };
  }
  // The browser's credential as JSON: its ids and the named binary fields of its response.
  // Extension outputs are unsigned and Eligo uses none: they are not sent.
  function asJson(c, fields) {
    var response = {};
    fields.forEach(function (f) { response[f] = toB64(c.response[f]); });
    return JSON.stringify({
      id: c.id, rawId: toB64(c.rawId), type: c.type, response: response, clientExtensionResults: {},
    });
  }
  function attestation(c) {
    return asJson(c, ["attestationObject", "clientDataJSON"]);
  }
  function assertion(c) {
    return asJson(c, ["authenticatorData", "clientDataJSON", "signature", "userHandle"]);
  }

  function status(form, text) {
    var out = form.querySelector("[data-passkey-status]");
    if (!out) return;
    out.textContent = text || "";
    out.hidden = !text;
  }
  function field(form, name) {
    return form.querySelector("input[name='" + name + "']");
  }
  // Posts `fields` (with the form's token) as a form; the server's JSON answer, or its error.
  function ask(form, path, fields) {
    var body = new URLSearchParams();
    body.set("csrf", field(form, "csrf").value);
    Object.keys(fields).forEach(function (k) { body.set(k, fields[k]); });
    return fetch(path, { method: "POST", body: body, credentials: "same-origin" }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (json) {
        if (r.ok) return json;
        var e = (json && json.error) || {};
        if (e.stepUp) window.location.assign(e.stepUp);
        throw new Error(e.message || "The server refused (" + r.status + "). Reload the page and try again.");
      });
    });
  }
  function failed(form, e) {
    // The person closed the browser's prompt, or the authenticator refused: nothing was sent.
    var text = e && e.name === "NotAllowedError"
      ? "The passkey prompt was closed or timed out. Nothing was sent; try again."
      : (e && e.message) || "The passkey could not be used.";
    status(form, text);
    delete form.dataset.passkeyBusy;
  }
  var supported = !!(window.PublicKeyCredential && navigator.credentials);
  // Re-submits `form` as the person submitted it (same button, so its name and value go too).
  function resubmit(form, submitter) {
    if (form.requestSubmit) form.requestSubmit(submitter || undefined);
    else form.submit();
  }

  // Captured before portal.js's submit-once handler sees the event: a form held here for the
  // passkey is submitted again once the answer is in, and that submission is the one counted.
  document.addEventListener("submit", function (ev) {
    var form = ev.target, submitter = ev.submitter || null;
    if (form.dataset.passkeyBusy === "1") {
      ev.preventDefault(); ev.stopPropagation();
      return;
    }
    var task = null;
    if (form.matches("[data-passkey-register]") && !field(form, "credential").value) {
      task = function () {
        var name = field(form, "name");
        return ask(form, "/portal/security/passkeys/options", { name: name ? name.value : "" })
          .then(function (o) { return navigator.credentials.create(creationOptions(o)); })
          .then(function (c) { field(form, "credential").value = attestation(c); });
      };
    } else if (form.matches("[data-passkey-proof]") && !field(form, "passkey").value) {
      var code = field(form, "code");
      if (code && code.value.trim()) return; // the person typed a code: it goes as it is
      task = function () {
        return ask(form, "/portal/step-up/passkey/options", {})
          .then(function (o) { return navigator.credentials.get(requestOptions(o)); })
          .then(function (c) { field(form, "passkey").value = assertion(c); });
      };
    } else if (form.matches("[data-passkey-sign-in]") && submitter && submitter.value === "passkey"
        && !field(form, "passkey").value) {
      task = function () {
        return ask(form, "/portal/sign-in/passkey/options", {
          username: field(form, "username").value, password: field(form, "password").value,
        }).then(function (o) {
          field(form, "ceremony_id").value = o.ceremonyId;
          return navigator.credentials.get(requestOptions(o));
        }).then(function (c) {
          field(form, "passkey").value = assertion(c);
          // The password was proved by the first half: it does not travel again.
          field(form, "password").value = "";
        });
      };
    }
    if (!task) return;
    ev.preventDefault(); ev.stopPropagation();
    if (!supported) {
      status(form, "This browser cannot use passkeys here. Use your authenticator app's code instead.");
      return;
    }
    form.dataset.passkeyBusy = "1";
    status(form, "");
    task().then(function () {
      delete form.dataset.passkeyBusy;
      resubmit(form, submitter);
    }, function (e) { failed(form, e); });
  }, true);
})();
