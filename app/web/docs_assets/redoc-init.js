/* Starts ReDoc on /redoc from this server's files; its <style> elements carry this page's
   nonce, the only inline styles the page's CSP allows. */
window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("redoc");
  Redoc.init(root.dataset.openapi, { nonce: root.dataset.nonce, disableSearch: true }, root);
});
