/* Chapter 7: what one attention module in every block adds to ResNet-50 or MobileNetV2, stage by
 * stage, at 224 x 224 (data from attn_lessons.interactive.networks: the library's parameter and
 * MAC counts). Each stage has two bars on one logarithmic axis: the parameters and the MACs the
 * modules add, as a percentage of the stage's own. The readouts give the totals. */
AttnFigures.register("attention-cost", function (stage, data, labels) {
  "use strict";
  var A = AttnFigures;
  var network = "resnet50", kind = data.kinds[0], reduction = 16;
  var W = 660, left = 190, right = 70, top = 44, rowH = 40;
  var lo = 1e-5, hi = 1e5;  // per cent, the fixed axis
  var x = A.log(lo, hi, left, W - right);

  function hasReduction(k) {
    return Object.prototype.hasOwnProperty.call(data.reduction_defaults, k);
  }
  function setting() { return hasReduction(kind) ? "r" + reduction : "default"; }

  A.select(stage, {
    key: "network", label: A.label(labels, "network"),
    options: Object.keys(data.networks).map(function (n) {
      return {value: n, text: data.networks[n].label};
    }),
    onChange: function (v) { network = v; draw(); }
  });
  A.select(stage, {
    key: "module", label: A.label(labels, "module"),
    // the modules with a reduction ratio first, then those without (the ratio is disabled)
    options: data.kinds.filter(hasReduction).concat(data.kinds.filter(function (k) {
      return !hasReduction(k);
    })).map(function (k) { return {value: k, text: A.label(labels, k)}; }),
    onChange: function (v) { kind = v; draw(); }
  });
  var rBox = A.select(stage, {
    key: "reduction", label: A.label(labels, "reduction"),
    options: data.reductions.map(function (r) { return {value: r, text: "r = " + r}; }),
    value: reduction,
    onChange: function (v) { reduction = Number(v); draw(); }
  });

  var maxStages = Math.max.apply(null, Object.keys(data.networks).map(function (n) {
    return data.networks[n].stages.length;
  }));
  var H = top + rowH * maxStages + 40;
  var root = A.canvas(stage, W, H, A.text(labels, "added"));
  // the axis: decades, with the 1 % and 100 % lines a little stronger
  for (var e = -5; e <= 5; e++) {
    var v = Math.pow(10, e), gx = x(v);
    root.appendChild(A.svg("line", {x1: gx, x2: gx, y1: top - 6, y2: H - 36,
                                    class: e === 0 || e === 2 ? "attn-axis" : "attn-grid",
                                    "stroke-opacity": e === 0 || e === 2 ? 0.4 : null}));
    if (e % 2 === 0) {
      root.appendChild(A.svg("text", {x: gx, y: H - 20, "text-anchor": "middle",
                                      text: (e >= 0 ? String(v) : v.toExponential(0)) + " %"}));
    }
  }
  root.appendChild(A.svg("text", {x: (left + W - right) / 2, y: H - 4, "text-anchor": "middle",
                                  text: A.text(labels, "percent")}));
  var legend = A.svg("g", {transform: "translate(" + left + ",16)"});
  legend.appendChild(A.svg("rect", {x: 0, y: -9, width: 14, height: 10, fill: A.color("blue")}));
  legend.appendChild(A.svg("text", {x: 20, y: 0, text: A.text(labels, "params")}));
  legend.appendChild(A.svg("rect", {x: 200, y: -9, width: 14, height: 10,
                                    fill: A.color("orange")}));
  legend.appendChild(A.svg("text", {x: 220, y: 0, text: A.text(labels, "macs")}));
  root.appendChild(legend);
  var rows = A.svg("g", {});
  root.appendChild(rows);

  var readParams = A.readout(stage, "added-params", A.label(labels, "added-params"));
  var readParamsPct = A.readout(stage, "added-params-percent",
                                A.label(labels, "added-params-percent"));
  var readMacs = A.readout(stage, "added-macs", A.label(labels, "added-macs"));
  var readMacsPct = A.readout(stage, "added-macs-percent", A.label(labels, "added-macs-percent"));
  var readBase = A.readout(stage, "network-params", A.label(labels, "network-params"));
  var readBaseMacs = A.readout(stage, "network-macs", A.label(labels, "network-macs"));

  function big(n) {
    if (n >= 1e9) return (n / 1e9).toFixed(2) + " G";
    if (n >= 1e6) return (n / 1e6).toFixed(2) + " M";
    if (n >= 1e4) return (n / 1e3).toFixed(1) + " k";
    return String(n);
  }
  function pct(p) { return p >= 0.01 ? A.format(p) + " %" : p.toExponential(1) + " %"; }

  function draw() {
    var net = data.networks[network];
    rBox.disabled = !hasReduction(kind);
    var added = net.added[kind][setting()];
    while (rows.firstChild) rows.removeChild(rows.firstChild);
    var total = {params: 0, macs: 0};
    net.stages.forEach(function (s, k) {
      var a = added[k], y0 = top + k * rowH;
      total.params += a.params;
      total.macs += a.macs;
      var name = A.text(labels, "stage") + " " + (k + 1);
      var detail = a.modules ? a.modules + " \u00d7 (" + a.channels.join("/") + ")\u00d7" +
                   a.size[0] + "\u00d7" + a.size[1] : A.text(labels, "no-module");
      rows.appendChild(A.svg("text", {x: left - 8, y: y0 + 12, "text-anchor": "end",
                                      text: name}));
      rows.appendChild(A.svg("text", {x: left - 8, y: y0 + 27, "text-anchor": "end",
                                      "font-size": 10, text: detail}));
      [["params", A.color("blue"), 0], ["macs", A.color("orange"), 16]].forEach(function (b) {
        var p = 100 * a[b[0]] / s[b[0]];
        var g = A.svg("g", {"data-value": "stage-" + b[0] + "-" + k, "data-number": a[b[0]]});
        if (a[b[0]] > 0) {
          var w = Math.max(1, x(Math.max(lo, Math.min(hi, p))) - left);
          g.appendChild(A.svg("rect", {x: left, y: y0 + b[2], width: w, height: 13,
                                       fill: b[1]}));
          g.appendChild(A.svg("text", {x: left + w + 4, y: y0 + b[2] + 11, "font-size": 10,
                                       text: big(a[b[0]]) + " (" + pct(p) + ")"}));
        }
        rows.appendChild(g);
      });
    });
    A.show(readParams, total.params, big(total.params));
    A.show(readParamsPct, 100 * total.params / net.params, pct(100 * total.params / net.params));
    A.show(readMacs, total.macs, big(total.macs));
    A.show(readMacsPct, 100 * total.macs / net.macs, pct(100 * total.macs / net.macs));
    A.show(readBase, net.params, big(net.params));
    A.show(readBaseMacs, net.macs, big(net.macs));
  }
  draw();
});
