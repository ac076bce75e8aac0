/* Runs before ReDoc. ReDoc inserts <style> elements, not all of them with a nonce (webpack's
   style loader adds none); give each style element this page adds the page's nonce, the only
   inline styles its Content-Security-Policy admits. Scripts stay this server's files only. */
(() => {
  const nonce = document.currentScript.dataset.nonce;
  for (const method of ["appendChild", "insertBefore"]) {
    const original = Node.prototype[method];
    Node.prototype[method] = function (node, ...rest) {
      if (node instanceof HTMLStyleElement && !node.getAttribute("nonce")) node.setAttribute("nonce", nonce);
      return original.call(this, node, ...rest);
    };
  }
})();
