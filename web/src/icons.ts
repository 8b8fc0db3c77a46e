// A few line icons as inline SVG (no icon font, nothing fetched).
const PATHS: Record<string, string> = {
  file: 'M4 2.5h5.5L13 6v7.5H4z M9.5 2.5V6H13',
  folder: 'M2 4.5h4.5l1.5 1.5h6v7.5H2z',
  folderOpen: 'M2 4.5h4.5l1.5 1.5h5v2 M2 13.5l1.8-5.5H15l-1.8 5.5z M2 4.5v9',
  chevronRight: 'M6 4l4 4-4 4',
  chevronDown: 'M4 6l4 4 4-4',
  download: 'M8 2.5v8 M4.5 7l3.5 3.5L11.5 7 M3 13.5h10',
  upload: 'M8 10.5v-8 M4.5 6L8 2.5 11.5 6 M3 13.5h10',
  pencil: 'M10.5 2.5l3 3-8 8H2.5v-3z',
  trash: 'M3 4.5h10 M6.5 4.5V3h3v1.5 M4.5 4.5l.7 9h5.6l.7-9',
  plus: 'M8 3v10 M3 8h10',
  newFolder: 'M2 4.5h4.5l1.5 1.5h6v7.5H2z M8 8v3.5 M6.25 9.75h3.5',
  newFile: 'M4 2.5h5.5L13 6v7.5H4z M8.5 8v3.5 M6.75 9.75h3.5',
  menu: 'M2.5 4h11 M2.5 8h11 M2.5 12h11',
  sun: 'M8 5a3 3 0 1 0 0 6a3 3 0 1 0 0-6z M8 1v1.5 M8 13.5V15 M1 8h1.5 M13.5 8H15 M3 3l1 1 M12 12l1 1 M3 13l1-1 M12 4l1-1',
  moon: 'M13.5 9.5A6 6 0 0 1 6.5 2.5a6 6 0 1 0 7 7z',
  play: 'M4.5 2.5l9 5.5-9 5.5z',
  stop: 'M4 4h8v8H4z',
  search: 'M7 2.5a4.5 4.5 0 1 0 0 9a4.5 4.5 0 1 0 0-9z M10.3 10.3l3.2 3.2',
  lock: 'M3.5 7.5h9v6h-9z M5.5 7.5V5a2.5 2.5 0 0 1 5 0v2.5',
  pause: 'M5.5 3.5v9 M10.5 3.5v9',
  clock: 'M8 2a6 6 0 1 0 0 12a6 6 0 1 0 0-12z M8 4.5V8l2.5 1.5',
  offline: 'M2 2l12 12 M5.5 8.5a4 4 0 0 1 2.5-1 M3 6a7.5 7.5 0 0 1 3-1.6 M10 4.6A7.5 7.5 0 0 1 13 6 M8 11.5v.5',
  alert: 'M8 2l6.5 11.5h-13z M8 6.5v3 M8 11.5v.5',
  compass: 'M8 2a6 6 0 1 0 0 12a6 6 0 1 0 0-12z M10.5 5.5l-1.5 3.5-3.5 1.5 1.5-3.5z',
  key: 'M5.5 7a3 3 0 1 0 0 6a3 3 0 1 0 0-6z M7.6 7.9l5.4-5.4 M11 4.5l1.5 1.5 M9.5 6l1 1',
};

export function icon(name: keyof typeof PATHS | string): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('class', 'icon-svg');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', PATHS[name] ?? PATHS.file);
  svg.append(path);
  return svg;
}
