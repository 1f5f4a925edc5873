// A signed-out session must not leave a silently frozen queue: when a poll answers 401
// (the session ended), go to sign-in and come back here afterwards.
document.addEventListener("htmx:responseError", function (event) {
  if (event.detail.xhr && event.detail.xhr.status === 401) {
    window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
  }
});
