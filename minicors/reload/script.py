"""The reload script a page gets with `--reload`, served at /_minicors/reload.js.

It listens on the server's event stream (`EventSource`, which reconnects by itself).  A
`css` event swaps the changed stylesheets in place: the new `<link>` is added next to the old
one, which is removed once the new one has loaded, so the page never shows unstyled and keeps
its scroll position and form state.  A stylesheet the page does not link directly (an
`@import`) makes every same-origin stylesheet reload.  Any other change reloads the page.
Each stream starts with a `hello` naming the server's instance: when it differs from the one
the page saw (the server restarted), the page reloads once.
"""

from __future__ import annotations

SCRIPT = b"""(() => {
  "use strict";
  const here = document.currentScript ? document.currentScript.src : location.href;
  const source = new EventSource(new URL("/_minicors/events", here));
  let instance = null;
  source.addEventListener("hello", (event) => {
    if (instance !== null && event.data !== instance) location.reload();
    instance = event.data;
  });
  source.addEventListener("reload", () => location.reload());
  source.addEventListener("css", (event) => {
    const changed = new Set(JSON.parse(event.data));
    const origin = new URL(here).origin;
    const links = [...document.querySelectorAll('link[rel~="stylesheet"][href]')]
      .filter((link) => new URL(link.href, location.href).origin === origin);
    const direct = links.filter((link) => changed.has(new URL(link.href, location.href).pathname));
    for (const link of direct.length ? direct : links) {
      const url = new URL(link.href, location.href);
      url.searchParams.set("minicors-reload", String(Date.now()));
      const next = link.cloneNode();
      next.href = url.href;
      next.addEventListener("load", () => link.remove(), { once: true });
      next.addEventListener("error", () => link.remove(), { once: true });
      link.after(next);
    }
  });
})();
"""
