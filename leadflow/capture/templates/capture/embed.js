(function () {
  "use strict";
  var script = document.currentScript;
  var frame = document.createElement("iframe");
  var vid = (document.cookie.match(/(?:^|;\s*)lf_vid=([A-Za-z0-9_-]{8,64})/) || [])[1] || "";
  var params = "?embed=1&page=" + encodeURIComponent(location.href) +
    "&ref=" + encodeURIComponent(document.referrer) + (vid ? "&vid=" + vid : "");
  frame.src = "{{ src|escapejs }}" + params;
  frame.title = "Form";
  frame.loading = "lazy";
  frame.style.cssText = "width:100%;max-width:560px;border:0;min-height:320px;display:block";
  frame.setAttribute("data-lf-embed", "{{ slug|escapejs }}");
  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow || !event.data || event.data.lf !== "height") return;
    frame.style.height = Math.min(Math.max(event.data.value, 120), 4000) + "px";
  });
  if (script && script.parentNode) {
    script.parentNode.insertBefore(frame, script);
  } else {
    document.body.appendChild(frame);
  }
})();
