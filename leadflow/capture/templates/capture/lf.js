/* Leadflow tracking: page views and custom events with a first-party visitor id.
   <script src="https://YOUR-LEADFLOW/t/lf.js" async></script>
   Custom events: window.leadflow("event", "signup-clicked", {plan: "pro"}) */
(function (w, d) {
  "use strict";
  var ENDPOINT = "{{ endpoint|escapejs }}";
  var IDENTIFY = "{{ identify|escapejs }}";
  var COOKIE = "lf_vid";
  var TWO_YEARS = 63072000;

  function readCookie() {
    var m = d.cookie.match(/(?:^|;\s*)lf_vid=([A-Za-z0-9_-]{8,64})/);
    return m ? m[1] : null;
  }
  function newId() {
    var a = new Uint8Array(16);
    (w.crypto || w.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  var vid = readCookie();
  if (!vid) {
    vid = newId();
  }
  // Refreshed on every visit, first-party on the site that runs this script.
  d.cookie = COOKIE + "=" + vid + "; Max-Age=" + TWO_YEARS + "; Path=/; SameSite=Lax" +
    (location.protocol === "https:" ? "; Secure" : "");

  function send(payload) {
    payload.vid = vid;
    payload.url = location.href;
    payload.title = d.title;
    payload.ref = d.referrer;
    payload.ts = Date.now();
    var body = JSON.stringify(payload);
    // text/plain keeps the beacon a "simple" request: no CORS preflight.
    if (navigator.sendBeacon && navigator.sendBeacon(ENDPOINT, new Blob([body], { type: "text/plain" }))) {
      return;
    }
    if (w.fetch) {
      fetch(ENDPOINT, { method: "POST", body: body, keepalive: true, mode: "no-cors",
                        headers: { "Content-Type": "text/plain" } });
    } else {
      new Image().src = ENDPOINT + "?vid=" + vid + "&url=" + encodeURIComponent(location.href);
    }
  }

  // Forms on this page learn who the visitor is, so a submission joins their visits.
  function tagForms() {
    var inputs = d.querySelectorAll('input[name="_vid"]');
    for (var i = 0; i < inputs.length; i++) { inputs[i].value = vid; }
    var frames = d.querySelectorAll("iframe[data-lf-embed]");
    for (var j = 0; j < frames.length; j++) {
      if (frames[j].src.indexOf("vid=") === -1) { frames[j].src += "&vid=" + vid; }
    }
  }

  var queued = (w.leadflow && w.leadflow.q) || [];
  w.leadflow = function (command, name, props) {
    if (command === "event") { send({ type: "event", name: String(name || ""), props: props || {} }); }
    if (command === "page") { send({ type: "page_view" }); }
  };
  w.leadflow.vid = vid;
  for (var k = 0; k < queued.length; k++) { w.leadflow.apply(null, queued[k]); }

  // An email click brought the reader here with an identity token: trade it for "this
  // visitor is that contact", then take it out of the address so it is never shared on.
  var match = location.search.match(/[?&]lf_id=([^&#]+)/);
  if (match) {
    var identity = JSON.stringify({ vid: vid, token: decodeURIComponent(match[1]) });
    if (w.fetch) {
      fetch(IDENTIFY, { method: "POST", body: identity, keepalive: true, mode: "no-cors",
                        headers: { "Content-Type": "text/plain" } });
    }
    if (w.history && history.replaceState) {
      var clean = location.href.replace(/([?&])lf_id=[^&#]*&?/, "$1").replace(/[?&](#|$)/, "$1");
      history.replaceState(history.state, "", clean);
    }
  }

  send({ type: "page_view" });
  if (d.readyState === "loading") { d.addEventListener("DOMContentLoaded", tagForms); } else { tagForms(); }
})(window, document);
