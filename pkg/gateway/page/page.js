// The reset page without a round trip per step. Everything here is an
// enhancement: without JavaScript the forms post as forms and the server
// answers with the next page. The server checks everything again.
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main || !window.fetch || !window.JSON) {
    return; // the forms still work as plain forms
  }
  var minLength = parseInt(main.getAttribute("data-min-length"), 10) || 8;
  var maxLength = parseInt(main.getAttribute("data-max-length"), 10) || 128;
  var views = ["reset", "done", "expired", "sent", "failed"];
  // The contract's JSON message, which stays English whatever the page's
  // language: clients match on it.
  var msgInvalidToken = "Invalid or expired token";

  function $(id) { return document.getElementById(id); }

  // The page's messages, in its language, from the server (#messages);
  // the script itself holds no words.
  var messages = $("messages");
  function msg(name) { return messages ? messages.getAttribute("data-" + name) || "" : ""; }
  var msgTooMany = msg("too-many");
  var msgFailed = msg("failed");
  var msgOffline = msg("offline");
  // reasons maps the policy's reasons, as the JSON answers word them
  // (English), to the page's language.
  var reasons = {};
  try { reasons = JSON.parse(msg("reasons") || "{}"); } catch (e) { reasons = {}; }

  function show(view) {
    if (view === "expired" && captchaReload()) { return; }
    views.forEach(function (v) { $(v).hidden = v !== view; });
    main.setAttribute("data-view", view);
    var h = $(view + "-title");
    if (h) { h.focus(); }
  }

  // The bot defence (captcha.go), when on. The widget is only on the page
  // of a dead link, never beside a live one (its script can read the URL):
  // a page that learns its link is dead reloads to be shown with it.
  var msgCaptcha = msg("captcha-unsolved");
  function captchaReload() {
    var marker = $("captcha");
    if (!marker || !marker.hasAttribute("data-captcha-reload")) { return false; }
    window.location.reload();
    return true;
  }
  // captchaToken is the widget's token, "" when not solved, null when off.
  function captchaToken(form) {
    var widget = $("captcha");
    var field = widget && widget.getAttribute("data-captcha-field");
    if (!field) { return null; }
    var input = form.querySelector("input[name=\"" + field + "\"]");
    return input ? input.value : "";
  }
  // A token is good once: a new one is needed after every answer.
  function captchaReset() {
    if (window.turnstile) { window.turnstile.reset(); }
    if (window.hcaptcha) { window.hcaptcha.reset(); }
  }

  // setError shows text under input (or clears it) and marks the input.
  function setError(input, text) {
    $(input.id + "-error").textContent = text;
    if (text) {
      input.setAttribute("aria-invalid", "true");
    } else {
      input.removeAttribute("aria-invalid");
    }
  }

  // The policy counts Unicode code points, as Array.from does.
  function passwordProblem(value) {
    var n = Array.from(value).length;
    if (n === 0) { return msg("no-password"); }
    if (n < minLength) { return msg("too-short").replace("{n}", minLength); }
    if (n > maxLength) { return msg("too-long").replace("{n}", maxLength); }
    return "";
  }

  // post sends body as JSON and calls done(status, answer) with the
  // decoded answer ({} when it is not JSON), or fail() when there is none.
  function post(url, body, done, fail) {
    fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer"
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (answer) {
        done(resp.status, answer || {});
      });
    }).catch(fail);
  }

  function busy(button, on) {
    button.disabled = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
  }

  // The new-password form.
  var resetForm = $("reset-form");
  if (resetForm) {
    var pw = $("new_password");
    var confirm = $("confirm_password");
    var formError = $("reset-error");
    var button = resetForm.querySelector("button[type=submit]");
    var touched = { pw: false, confirm: false };

    var checkPassword = function () {
      var problem = passwordProblem(pw.value);
      setError(pw, problem);
      return problem === "";
    };
    var checkConfirm = function () {
      var problem = "";
      if (confirm.value === "") {
        problem = msg("no-confirm");
      } else if (confirm.value !== pw.value) {
        problem = msg("mismatch");
      }
      setError(confirm, problem);
      return problem === "";
    };

    // Errors appear once a field has been left, then follow the typing.
    pw.addEventListener("blur", function () {
      if (pw.value !== "") { touched.pw = true; checkPassword(); }
    });
    pw.addEventListener("input", function () {
      if (touched.pw) { checkPassword(); }
      if (touched.confirm) { checkConfirm(); }
    });
    confirm.addEventListener("blur", function () {
      if (confirm.value !== "") { touched.confirm = true; checkConfirm(); }
    });
    confirm.addEventListener("input", function () {
      if (touched.confirm) { checkConfirm(); }
    });

    var toggle = $("show_passwords");
    toggle.parentNode.hidden = false;
    toggle.addEventListener("change", function () {
      var type = toggle.checked ? "text" : "password";
      pw.type = type;
      confirm.type = type;
    });

    resetForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      touched.pw = touched.confirm = true;
      formError.textContent = "";
      var pwOK = checkPassword();
      var confirmOK = checkConfirm();
      if (!pwOK || !confirmOK) {
        (pwOK ? confirm : pw).focus();
        return;
      }
      busy(button, true);
      post(window.location.pathname, { new_password: pw.value }, function (status, answer) {
        busy(button, false);
        if (status === 200) {
          pw.value = confirm.value = "";
          show("done");
        } else if (status === 400 && answer.error === msgInvalidToken) {
          show("expired");
        } else if (status === 400 && answer.error && answer.error !== "Invalid request body") {
          setError(pw, reasons[answer.error] || answer.error); // the policy's reason
          pw.focus();
        } else if (status === 429) {
          formError.textContent = msgTooMany;
        } else {
          formError.textContent = msgFailed;
        }
      }, function () {
        busy(button, false);
        formError.textContent = msgOffline;
      });
    });
  }

  // The request-a-new-link form.
  var requestForm = $("request-form");
  if (requestForm) {
    var email = $("email");
    var requestError = $("request-error");
    var requestButton = requestForm.querySelector("button[type=submit]");
    requestForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      requestError.textContent = "";
      var value = email.value.trim();
      if (value.indexOf("@") < 1 || value.indexOf("@") === value.length - 1) {
        setError(email, msg("email-format"));
        email.focus();
        return;
      }
      setError(email, "");
      var body = { email: value };
      var token = captchaToken(requestForm);
      if (token === "") {
        requestError.textContent = msgCaptcha;
        return;
      }
      if (token !== null) { body.captcha_token = token; }
      busy(requestButton, true);
      post(requestForm.getAttribute("action"), body, function (status) {
        busy(requestButton, false);
        if (token !== null) { captchaReset(); }
        // 404 is an unknown account where the service is set to reveal
        // them; the page says the same either way.
        if (status === 200 || status === 404) {
          show("sent");
        } else if (status === 400 && token !== null) {
          // A refused check or a malformed address: one answer for both.
          requestError.textContent = msg("captcha-refused");
        } else if (status === 400) {
          setError(email, msg("bad-email"));
          email.focus();
        } else if (status === 429) {
          requestError.textContent = msgTooMany;
        } else {
          requestError.textContent = msgFailed;
        }
      }, function () {
        busy(requestButton, false);
        requestError.textContent = msgOffline;
      });
    });
  }
})();
