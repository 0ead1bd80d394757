// Comment form: solves the ALTCHA proof of work (SHA-256, Web Crypto) and fills the hidden "altcha" field,
// then hides the arithmetic question, which is only for readers without JavaScript. Without this script (or
// without crypto.subtle, which needs HTTPS or localhost) the question stays and the form still works.
(function () {
  "use strict";
  var form = document.getElementById("comment-form");
  if (!form || !window.crypto || !window.crypto.subtle || !window.TextEncoder) return;
  var challenge;
  try { challenge = JSON.parse(form.getAttribute("data-altcha")); } catch (e) { return; }
  if (!challenge || challenge.algorithm !== "SHA-256") return;
  var max = challenge.maxNumber || challenge.maxnumber || 1000000;
  var field = form.querySelector("input[name=altcha]");
  var question = document.getElementById("c-question");
  var answer = form.querySelector("input[name=jawaban]");
  var status = document.getElementById("c-pow");
  var encoder = new TextEncoder();
  var solved = false;
  var waiting = false;
  var BATCH = 500;  // hashes in flight at once: fast, without flooding the main thread

  function hex(buffer) {
    var bytes = new Uint8Array(buffer), out = "";
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return out;
  }

  function attempt(n) {
    return crypto.subtle.digest("SHA-256", encoder.encode(challenge.salt + n)).then(function (d) {
      return hex(d) === challenge.challenge ? n : -1;
    });
  }

  function search(start) {
    if (start > max) return Promise.resolve(-1);
    var batch = [];
    for (var n = start; n < start + BATCH && n <= max; n++) batch.push(attempt(n));
    return Promise.all(batch).then(function (found) {
      for (var i = 0; i < found.length; i++) if (found[i] >= 0) return found[i];
      return search(start + BATCH);
    });
  }

  // While the script works the question is optional; it becomes required again if the proof fails.
  answer.required = false;
  status.hidden = false;
  status.textContent = form.getAttribute("data-working");
  search(0).then(function (number) {
    if (number < 0) { giveUp(); return; }  // not found: the question stays
    field.value = btoa(JSON.stringify({
      algorithm: challenge.algorithm, challenge: challenge.challenge, number: number,
      salt: challenge.salt, signature: challenge.signature
    }));
    solved = true;
    question.hidden = true;
    answer.disabled = true;  // not sent: the proof of work stands in for it
    status.textContent = form.getAttribute("data-done");
    form.setAttribute("data-solved", "1");
    if (waiting) form.submit();
  }, giveUp);

  function giveUp() {
    status.hidden = true;
    answer.required = true;
    if (waiting) { waiting = false; answer.focus(); }
  }

  form.addEventListener("submit", function (event) {
    // Sent before the proof is ready: wait for it instead of falling back to the question.
    if (!solved && !answer.value) { event.preventDefault(); waiting = true; }
  });
})();
