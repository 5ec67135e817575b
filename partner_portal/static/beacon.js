/* Puhui page-view beacon for embedded surfaces (JR/T 0269 3.7 traffic).
   <script src="https://<bank>/static/beacon.js" data-client-id="ph_..." data-surface="offer"></script>
   Sends one pseudonymous view per page load; no cookies, no personal data. */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !navigator.sendBeacon) { return; }
  var clientId = me.getAttribute("data-client-id");
  var surface = me.getAttribute("data-surface") || "page";
  if (!clientId) { return; }
  var visitor = "";
  try {
    visitor = window.localStorage.getItem("puhui_visitor") || "";
    if (!visitor && window.crypto && window.crypto.randomUUID) {
      visitor = window.crypto.randomUUID().replace(/-/g, "");
      window.localStorage.setItem("puhui_visitor", visitor);
    }
  } catch (e) { visitor = ""; }
  var origin = new URL(me.src, document.baseURI).origin;
  var body = new URLSearchParams({ client_id: clientId, surface: surface, visitor: visitor });
  navigator.sendBeacon(origin + "/portal/beacon", body);
})();
