"use strict";
// ThumbHash placeholders (https://evanw.github.io/thumbhash/): the status document gives each picture
// output a `thumbHash` (base64); this decodes it into a ~32-px RGBA preview, the same way the
// processor's ThumbHash.decode does, and paints it behind an <img> until the image has loaded.

const ThumbHash = (() => {
  // RGBA bytes (not premultiplied) of the hash's preview: { w, h, rgba }, or null when malformed.
  function toRGBA(hash) {
    if (hash.length < 5) return null;
    const header24 = hash[0] | (hash[1] << 8) | (hash[2] << 16);
    const header16 = hash[3] | (hash[4] << 8);
    const lDC = (header24 & 63) / 63;
    const pDC = ((header24 >> 6) & 63) / 31.5 - 1;
    const qDC = ((header24 >> 12) & 63) / 31.5 - 1;
    const lScale = ((header24 >> 18) & 31) / 31;
    const hasAlpha = (header24 >> 23) !== 0;
    const pScale = ((header16 >> 3) & 63) / 63;
    const qScale = ((header16 >> 9) & 63) / 63;
    const isLandscape = (header16 >> 15) !== 0;
    const long = hasAlpha ? 5 : 7;
    const short = header16 & 7;
    if (short === 0 || (hasAlpha && hash.length < 6)) return null;
    const lx = Math.max(3, isLandscape ? long : short);
    const ly = Math.max(3, isLandscape ? short : long);
    const aDC = hasAlpha ? (hash[5] & 15) / 15 : 1;
    const aScale = hasAlpha ? (hash[5] >> 4) / 15 : 0;

    const start = hasAlpha ? 6 : 5;
    let index = 0;
    const factors = (nx, ny, scale) => {
      const ac = [];
      for (let cy = 0; cy < ny; cy++) {
        for (let cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); cx++, index++) {
          const at = start + (index >> 1);
          if (at >= hash.length) return null;
          ac.push((((hash[at] >> ((index & 1) << 2)) & 15) / 7.5 - 1) * scale);
        }
      }
      return ac;
    };
    // P and Q boosted by 1.25 against quantisation, as the reference decoder does.
    const lAC = factors(lx, ly, lScale), pAC = factors(3, 3, pScale * 1.25), qAC = factors(3, 3, qScale * 1.25);
    const aAC = hasAlpha ? factors(5, 5, aScale) : [];
    if (!lAC || !pAC || !qAC || !aAC) return null;

    const ratio = isLandscape ? long / short : short / long;
    const w = Math.round(ratio > 1 ? 32 : 32 * ratio);
    const h = Math.round(ratio > 1 ? 32 / ratio : 32);
    const rgba = new Uint8ClampedArray(w * h * 4);
    const fx = new Float64Array(Math.max(lx, hasAlpha ? 5 : 3));
    const fy = new Float64Array(Math.max(ly, hasAlpha ? 5 : 3));
    for (let y = 0, i = 0; y < h; y++) {
      for (let cy = 0; cy < fy.length; cy++) fy[cy] = Math.cos(Math.PI / h * (y + 0.5) * cy);
      for (let x = 0; x < w; x++, i += 4) {
        for (let cx = 0; cx < fx.length; cx++) fx[cx] = Math.cos(Math.PI / w * (x + 0.5) * cx);
        let l = lDC, p = pDC, q = qDC, a = aDC;
        for (let cy = 0, j = 0; cy < ly; cy++) {
          const fy2 = fy[cy] * 2;
          for (let cx = cy ? 0 : 1; cx * ly < lx * (ly - cy); cx++, j++) l += lAC[j] * fx[cx] * fy2;
        }
        for (let cy = 0, j = 0; cy < 3; cy++) {
          const fy2 = fy[cy] * 2;
          for (let cx = cy ? 0 : 1; cx < 3 - cy; cx++, j++) {
            const f = fx[cx] * fy2;
            p += pAC[j] * f;
            q += qAC[j] * f;
          }
        }
        if (hasAlpha) {
          for (let cy = 0, j = 0; cy < 5; cy++) {
            const fy2 = fy[cy] * 2;
            for (let cx = cy ? 0 : 1; cx < 5 - cy; cx++, j++) a += aAC[j] * fx[cx] * fy2;
          }
        }
        const b = l - 2 / 3 * p;
        const r = (3 * l - b + q) / 2;
        rgba[i] = Math.round(255 * Math.min(1, Math.max(0, r)));
        rgba[i + 1] = Math.round(255 * Math.min(1, Math.max(0, r - q)));
        rgba[i + 2] = Math.round(255 * Math.min(1, Math.max(0, b)));
        rgba[i + 3] = Math.round(255 * Math.min(1, Math.max(0, a)));
      }
    }
    return { w, h, rgba };
  }

  // The base64 hash as a PNG data URL (drawn on a canvas), or null.
  function toDataURL(base64) {
    let bytes;
    try {
      bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    } catch (_) { return null; }
    const image = toRGBA(bytes);
    if (!image) return null;
    const canvas = document.createElement("canvas");
    canvas.width = image.w;
    canvas.height = image.h;
    canvas.getContext("2d").putImageData(new ImageData(image.rgba, image.w, image.h), 0, 0);
    return canvas.toDataURL("image/png");
  }

  // Paints `output`'s placeholder behind `img` (sized to the output's aspect ratio) until it loads or
  // fails. Marks the element for tests and styling: class `placeholder` while shown,
  // `data-placeholder` (the data URL), `data-placeholder-at` / `data-loaded-at` (performance.now()).
  function paint(img, output) {
    if (!output || !output.thumbHash) return;
    const url = toDataURL(output.thumbHash);
    if (!url) return;
    if (output.width && output.height) { img.width = output.width; img.height = output.height; }
    img.dataset.placeholder = url;
    img.classList.add("placeholder");
    img.style.backgroundImage = `url("${url}")`;
    if (output.averageColor) img.style.backgroundColor = output.averageColor;
    img.dataset.placeholderAt = String(performance.now());
    const done = () => {
      img.dataset.loadedAt = String(performance.now());
      img.classList.remove("placeholder");
      img.style.backgroundImage = "";
      img.style.backgroundColor = "";
    };
    img.addEventListener("load", done, { once: true });
    img.addEventListener("error", done, { once: true });
  }

  return { toRGBA, toDataURL, paint };
})();
