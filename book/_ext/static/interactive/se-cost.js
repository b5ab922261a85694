/* Chapter 2: an SE block's parameters and the bytes it moves per image, against C and r (data
 * from attn_lessons.interactive.se: se_num_params and se_macs, float32). Left: parameters against
 * C, one line per r (the chosen r bold). Right: bytes moved and FC multiply-accumulates against C
 * for the chosen r and H = W, on one logarithmic axis. */
AttnFigures.register("se-cost", function (stage, data, labels) {
  "use strict";
  var A = AttnFigures;
  var W = 720, H = 300, top = 30, bottom = 50, panel = 250, gap = 100, left0 = 60;
  var nC = data.channels.length;
  var state = {c: data.start.channels, r: data.start.reduction, s: data.start.size};

  A.slider(stage, {key: "channels", label: A.label(labels, "channels"), min: 0, max: nC - 1,
                   value: state.c, format: function (i) { return "C = " + data.channels[i]; },
                   onInput: function (i) { state.c = i; draw(); }});
  A.slider(stage, {key: "reduction", label: A.label(labels, "reduction"), min: 0,
                   max: data.reductions.length - 1, value: state.r,
                   format: function (i) { return "r = " + data.reductions[i]; },
                   onInput: function (i) { state.r = i; draw(); }});
  A.select(stage, {key: "size", label: A.label(labels, "size"), value: state.s,
                   options: data.sizes.map(function (s, i) {
                     return {value: i, text: s + " \u00d7 " + s};
                   }),
                   onChange: function (v) { state.s = Number(v); draw(); }});

  var root = A.canvas(stage, W, H, A.text(labels, "params") + ", " + A.text(labels, "bytes"));
  var xs = [left0, left0 + panel + gap];
  function xScale(p) { return A.log(data.channels[0], data.channels[nC - 1], xs[p], xs[p] + panel); }
  function yScale(lo, hi) { return A.log(lo, hi, H - bottom, top); }

  function all(fn) {
    var out = [];
    data.cost.forEach(function (byR) { byR.forEach(function (byS) { byS.forEach(function (c) {
      if (c) out.push(fn(c));
    }); }); });
    return out;
  }
  function decades(values) {
    var lo = Math.pow(10, Math.floor(Math.log10(Math.min.apply(null, values))));
    var hi = Math.pow(10, Math.ceil(Math.log10(Math.max.apply(null, values))));
    return [lo, hi];
  }
  var pRange = decades(all(function (c) { return c.params; }));
  var bRange = decades(all(function (c) { return c.fc_macs; }).concat(all(function (c) {
    return c.bytes; })));
  var yP = yScale(pRange[0], pRange[1]), yB = yScale(bRange[0], bRange[1]);

  function frame(p, y, range, title) {
    var x = xScale(p);
    for (var e = Math.log10(range[0]); e <= Math.log10(range[1]) + 1e-9; e += 1) {
      var v = Math.pow(10, e);
      root.appendChild(A.svg("line", {x1: xs[p], x2: xs[p] + panel, y1: y(v), y2: y(v),
                                      class: "attn-grid"}));
      root.appendChild(A.svg("text", {x: xs[p] - 6, y: y(v) + 4, "text-anchor": "end",
                                      text: "10" + superscript(e)}));
    }
    data.channels.forEach(function (c) {
      root.appendChild(A.svg("text", {x: x(c), y: H - bottom + 16, "text-anchor": "middle",
                                      "font-size": 10, text: String(c)}));
    });
    root.appendChild(A.svg("path", {d: "M" + xs[p] + "," + top + "V" + (H - bottom) + "H" +
                                       (xs[p] + panel), class: "attn-axis"}));
    root.appendChild(A.svg("text", {x: xs[p] + panel / 2, y: H - bottom + 34,
                                    "text-anchor": "middle", text: A.text(labels, "channels")}));
    root.appendChild(A.svg("text", {x: xs[p] + panel / 2, y: top - 12, "text-anchor": "middle",
                                    "font-weight": "bold", text: title}));
  }
  function superscript(e) {
    var digits = "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079";
    return String(Math.round(e)).split("").map(function (d) {
      return d === "-" ? "\u207b" : digits[Number(d)];
    }).join("");
  }
  frame(0, yP, pRange, A.text(labels, "params"));
  frame(1, yB, bRange, A.text(labels, "bytes") + " / " + A.text(labels, "fc_macs"));

  var layer = A.svg("g");
  root.appendChild(layer);

  function line(points, attrs) {
    if (points.length < 2) return;
    attrs.d = "M" + points.map(function (p) { return p[0] + "," + p[1]; }).join("L");
    attrs.fill = "none";
    layer.appendChild(A.svg("path", attrs));
  }
  function dot(x, y, colour) {
    layer.appendChild(A.svg("circle", {cx: x, cy: y, r: 5, fill: colour, stroke: "currentColor",
                                       "stroke-width": 1}));
  }

  var reads = {};
  ["hidden", "params", "fc_macs", "bytes", "map_bytes"].forEach(function (key) {
    reads[key] = A.readout(stage, key, A.label(labels, key));
  });

  function draw() {
    while (layer.firstChild) layer.removeChild(layer.firstChild);
    var x0 = xScale(0), x1 = xScale(1);
    // Left: parameters against C, every r (the chosen one bold).
    data.reductions.forEach(function (r, j) {
      var pts = [];
      data.channels.forEach(function (c, i) {
        var cost = data.cost[i][j][0];
        if (cost) pts.push([x0(c), yP(cost.params)]);
      });
      var chosen = j === state.r;
      line(pts, {stroke: chosen ? A.color("vermillion") : A.color("grey"),
                 "stroke-width": chosen ? 3 : 1, opacity: chosen ? 1 : 0.6,
                 "data-reduction": r});
      if (pts.length) {
        var last = pts[pts.length - 1];
        layer.appendChild(A.svg("text", {x: last[0] + 6, y: last[1] + 4, "font-size": 10,
                                         text: "r=" + r}));
      }
    });
    // Right: bytes moved and FC MACs against C, for the chosen r and size.
    var bytes = [], macs = [];
    data.channels.forEach(function (c, i) {
      var cost = data.cost[i][state.r][state.s];
      if (cost) {
        bytes.push([x1(c), yB(cost.bytes)]);
        macs.push([x1(c), yB(cost.fc_macs)]);
      }
    });
    line(bytes, {stroke: A.color("blue"), "stroke-width": 3});
    line(macs, {stroke: A.color("orange"), "stroke-width": 3, "stroke-dasharray": "7 4"});
    if (bytes.length) {
      layer.appendChild(A.svg("text", {x: xs[1] + 6, y: top + 4, fill: A.color("blue"),
                                       text: "\u2014 " + A.text(labels, "bytes")}));
      layer.appendChild(A.svg("text", {x: xs[1] + 6, y: top + 20,
                                       text: "- - " + A.text(labels, "fc_macs")}));
    }
    var c = data.channels[state.c];
    var cost = data.cost[state.c][state.r][state.s];
    layer.appendChild(A.svg("line", {x1: x0(c), x2: x0(c), y1: top, y2: H - bottom,
                                     class: "attn-grid", "stroke-dasharray": "3 3"}));
    layer.appendChild(A.svg("line", {x1: x1(c), x2: x1(c), y1: top, y2: H - bottom,
                                     class: "attn-grid", "stroke-dasharray": "3 3"}));
    if (cost) {
      dot(x0(c), yP(cost.params), A.color("vermillion"));
      dot(x1(c), yB(cost.bytes), A.color("blue"));
      dot(x1(c), yB(cost.fc_macs), A.color("orange"));
      A.show(reads.hidden, data.hidden[state.c][state.r]);
      ["params", "fc_macs", "bytes", "map_bytes"].forEach(function (key) {
        A.show(reads[key], cost[key]);
      });
    } else {
      layer.appendChild(A.svg("text", {x: xs[0] + panel / 2, y: (top + H - bottom) / 2,
                                       "text-anchor": "middle", class: "attn-refused",
                                       text: A.text(labels, "refused")}));
      Object.keys(reads).forEach(function (key) {
        A.show(reads[key], NaN, "\u2014");
      });
    }
  }
  draw();
});
