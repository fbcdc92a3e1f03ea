"""The fleet page's Jinja2 templates (autoescaped: a unit id or a fault text is text, never markup)."""

BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{% block title %}sunprint fleet{% endblock %}</title>
<style>
body { font: 14px/1.35 system-ui, sans-serif; margin: 1em 2em; color: #222; }
table { border-collapse: collapse; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: middle; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td { white-space: nowrap; }
img.sign { border: 1px solid #999; image-rendering: pixelated; }
.stale { background: #fde8c8; }
.stale .state { color: #a04000; font-weight: bold; }
.offline .state, .never .state { color: #777; }
.flag { color: #b00; font-weight: bold; }
.note { color: #555; font-size: 12px; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; background: #eee; }
</style></head><body>
{% block body %}{% endblock %}
</body></html>
"""

INDEX = """{% extends "base.html" %}
{% block body %}
<h1>sunprint fleet</h1>
<p id="summary">MQTT {{ mqtt }} ({{ broker }}); a unit is <strong>stale</strong> when nothing came from it for
<span id="stale-after">{{ stale_after }}</span> s; updated every {{ poll_ms }} ms.
{% if registry %}Registry: {{ registry }}.{% endif %}</p>
<div id="fleet">{{ table|safe }}</div>
<script>
// The table is HTML made (and escaped) by the server: fetched and swapped in, nothing built here.
let shown = null;
async function poll() {
  try {
    const r = await fetch("table", {cache: "no-store"});
    if (r.ok) {
      const html = await r.text();
      if (html !== shown) { document.getElementById("fleet").innerHTML = html; shown = html; }
    }
  } catch (e) {}
  setTimeout(poll, {{ poll_ms }});
}
setTimeout(poll, {{ poll_ms }});
</script>
{% endblock %}
"""

TABLE = """<table id="units" data-version="{{ version }}">
<tr><th>unit</th><th>sign</th><th>state</th><th>power</th><th>today</th><th>lifetime</th>
<th>faults</th><th>clock</th><th>firmware / app</th><th>board</th><th>last seen</th><th>flags</th></tr>
{% for u in units %}
<tr class="unit {{ u.cls }}" data-unit="{{ u.id }}">
<td><a href="unit/{{ u.id|urlencode }}">{{ u.id }}</a></td>
<td>{% if u.picture %}<img class="sign" alt="{{ u.id }} sign" src="unit/{{ u.id|urlencode }}/sign.png?v={{ u.picture }}" height="{{ u.thumb_h }}">{% endif %}</td>
<td class="state">{{ u.state }}</td>
<td class="num power">{{ u.power }}</td><td class="num today">{{ u.today }}</td>
<td class="num lifetime">{{ u.lifetime }}</td>
<td class="faults">{{ u.faults }}</td><td>{{ u.clock }}</td><td>{{ u.version }}</td>
<td>{{ u.board }}</td><td class="seen">{{ u.seen }}</td>
<td class="flag">{% for f in u.flags %}<div>{{ f }}</div>{% endfor %}</td>
</tr>
{% endfor %}
</table>
<p class="note">{{ units|length }} unit(s): {{ n_seen }} seen, {{ n_registry_only }} only in the registry.</p>
{% if ignored %}<div id="ignored"><h3>Ignored messages</h3><ul>
{% for reason, n in ignored %}<li>{{ n }} &times; {{ reason }}</li>{% endfor %}</ul>
{% if recent %}<p class="note">latest:</p><ul class="note">{% for t, topic, reason in recent %}
<li>{{ t }} <code>{{ topic }}</code>: {{ reason }}</li>{% endfor %}</ul>{% endif %}</div>{% endif %}
{% if registry_notes %}<div id="registry-notes"><h3>Registry rows ignored</h3><ul>
{% for n in registry_notes %}<li>{{ n }}</li>{% endfor %}</ul></div>{% endif %}
"""

UNIT = """{% extends "base.html" %}
{% block title %}{{ u.id }} - sunprint fleet{% endblock %}
{% block body %}
<p><a href="../">&larr; all units</a></p>
<h1>{{ u.id }}</h1>
<p class="{{ u.cls }}"><span class="state">{{ u.state }}</span>; last seen {{ u.seen }};
stale after {{ stale_after }} s</p>
{% if u.flags %}<div class="flag">{% for f in u.flags %}<div>{{ f }}</div>{% endfor %}</div>{% endif %}
<h2>The sign</h2>
{% if pictures %}<p>{% for p in pictures %}<figure style="display:inline-block">
<img class="sign" alt="{{ p.name }} {{ p.lang }}" src="{{ u.id|urlencode }}/sign.png?screen={{ p.name|urlencode }}&amp;lang={{ p.lang|urlencode }}&amp;v={{ u.picture }}">
<figcaption>{{ p.name }} ({{ p.lang }}){% if p.name == "status" %}: on demand, not in the rotation; "last saved" is not published{% endif %}</figcaption></figure>{% endfor %}</p>
<p class="note">Drawn here by the firmware's layout and render code from the published values;
the unit shows these screens in turn.</p>
{% else %}<p class="note">{{ no_picture }}</p>{% endif %}
<h2>Today</h2>
{% if u.plot %}<img alt="power and energy" src="{{ u.id|urlencode }}/plot.png?v={{ u.plot }}" width="900">
{% else %}<p class="note">no readings yet</p>{% endif %}
<table>
<tr><th>power</th><td>{{ u.power }}</td></tr><tr><th>today</th><td>{{ u.today }}</td></tr>
<tr><th>month</th><td>{{ u.month }}</td></tr><tr><th>year</th><td>{{ u.year }}</td></tr>
<tr><th>lifetime</th><td>{{ u.lifetime }}</td></tr><tr><th>CO&#8322; avoided</th><td>{{ u.co2 }}</td></tr>
<tr><th>coal saved</th><td>{{ u.coal }}</td></tr><tr><th>factor</th><td>{{ u.factor }}</td></tr>
<tr><th>clock</th><td>{{ u.clock }}</td></tr><tr><th>free heap</th><td>{{ u.heap }}</td></tr>
<tr><th>firmware / app</th><td>{{ u.version }}</td></tr><tr><th>board</th><td>{{ u.board }}</td></tr>
</table>
<h2>Faults</h2>
<p>counts: {{ u.faults }}{% if u.last_fault %}; last: {{ u.last_fault }}{% endif %}</p>
{% if faults %}<table id="faults"><tr><th>seen</th><th>unit time</th><th>what</th><th>new</th><th>last fault</th></tr>
{% for f in faults %}<tr><td>{{ f[0] }}</td><td>{{ f[1] }}</td><td>{{ f[2] }}</td><td>+{{ f[3] }}</td><td>{{ f[4] }}</td></tr>{% endfor %}
</table>{% else %}<p class="note">no new faults seen since the page started</p>{% endif %}
<h2>Registry</h2>
{% if reg %}<table id="registry">{% for k, v in reg %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>
<p class="note">by: who flashed the unit (the laptop's login name, or SUNPRINT_OPERATOR); empty in rows from before that column.</p>
{% else %}<p class="note">not in the registry</p>{% endif %}
{% if notes %}<h2>Ignored from this unit</h2><ul class="note">{% for t, n in notes %}<li>{{ t }}: {{ n }}</li>{% endfor %}</ul>{% endif %}
{% endblock %}
"""

TEMPLATES = {"base.html": BASE, "index.html": INDEX, "table.html": TABLE, "unit.html": UNIT}
