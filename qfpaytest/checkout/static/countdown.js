// Ticks the checkout page's countdown. The double decides expiry on its
// own clock; this only keeps the shown time current, and disables the
// buttons once it reaches zero.
"use strict";
(function () {
  var el = document.getElementById("countdown");
  if (!el) {
    return;
  }
  var end = Date.now() + parseInt(el.getAttribute("data-seconds"), 10) * 1000;
  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }
  function tick() {
    var s = Math.max(0, Math.round((end - Date.now()) / 1000));
    var h = Math.floor(s / 3600);
    var m = Math.floor(s / 60) % 60;
    el.textContent = (h > 0 ? h + ":" + pad(m) : String(m)) + ":" + pad(s % 60);
    if (s > 0) {
      setTimeout(tick, 1000);
      return;
    }
    document.getElementById("status").textContent = el.getAttribute("data-expired");
    document.querySelectorAll("form button").forEach(function (b) {
      b.disabled = true;
    });
  }
  tick();
})();
