"""The hosted Checkout page's HTML: one self-contained, accessible template."""

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  color:#1a1f36;background:#f6f8fa}
main{max-width:28rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.5rem 0 1rem}
.badge{display:inline-block;margin:0;padding:.1rem .5rem;border-radius:4px;
  background:#ffde92;color:#5c3b00;font-size:.8rem;font-weight:600}
table{width:100%;border-collapse:collapse}
caption{text-align:left}
th,td{padding:.4rem 0;text-align:left;vertical-align:top;border-bottom:1px solid #e3e8ee}
.num{text-align:right;white-space:nowrap;padding-left:.75rem}
tfoot th,tfoot td{border-bottom:0;font-weight:700}
form{margin-top:1rem;padding:1rem;background:#fff;border:1px solid #e3e8ee;border-radius:8px}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input{width:100%;padding:.6rem .7rem;font:inherit;color:inherit;background:#fff;
  border:1px solid #8792a2;border-radius:6px}
input[aria-invalid=true]{border-color:#c0123c}
input:focus,button:focus,a:focus{outline:3px solid #635bff;outline-offset:2px}
.row{display:flex;gap:.75rem}
.row>div{flex:1;min-width:0}
button{width:100%;margin-top:1.25rem;padding:.75rem;font:inherit;font-weight:700;
  color:#fff;background:#4f46e5;border:0;border-radius:6px;cursor:pointer}
.alert{margin:1rem 0 0;padding:.75rem;border-radius:6px;background:#fde8ec;color:#8a0b2a;
  border:1px solid #c0123c}
.note{color:#4f566b;font-size:.9rem}
a{color:#3c36c2}
details{margin-top:1.5rem;font-size:.9rem;color:#4f566b}
"""

TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ heading }} · Test checkout</title>
<style>{{ style|safe }}</style>
</head>
<body>
<main>
<p class="badge">Test mode</p>
<h1>{{ heading }}</h1>
{% if session.status == "open" %}
<table>
<caption class="note">Order summary</caption>
<thead><tr><th scope="col">Item</th><th scope="col" class="num">Qty</th>
<th scope="col" class="num">Amount</th></tr></thead>
<tbody>
{% for item in items %}<tr>
<td>{{ item.description }}{% if item.interval %}
<span class="note">(billed every {{ item.interval }})</span>{% endif %}</td>
<td class="num">{{ item.quantity }}</td><td class="num">{{ item.amount }}</td>
</tr>
{% endfor %}</tbody>
<tfoot><tr><th scope="row" colspan="2">Total due today</th>
<td class="num">{{ total }}</td></tr></tfoot>
</table>
{% if error %}<p class="alert" role="alert" id="pay-error">{{ error }}</p>{% endif %}
<form method="post" novalidate>
{% if ask_email %}<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="email" required
 value="{{ email or '' }}">
{% else %}<p class="note">Paying as {{ email }}</p>
{% endif %}<label for="card_number">Card number</label>
<input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number"
 placeholder="1234 1234 1234 1234" required value="{{ card_number }}"
 {%- if error %} aria-invalid="true" aria-describedby="pay-error"{% endif %}>
<div class="row">
<div><label for="exp">Expiry (MM / YY)</label>
<input id="exp" name="exp" inputmode="numeric" autocomplete="cc-exp" placeholder="MM / YY"
 value="{{ exp }}"></div>
<div><label for="cvc">CVC</label>
<input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" placeholder="123"></div>
</div>
<button type="submit">Pay</button>
</form>
{% if session.cancel_url %}<p><a href="{{ session.cancel_url }}">Cancel and go back</a></p>{% endif %}
<details><summary>Test cards</summary>
<ul>
<li><code>4242 4242 4242 4242</code> pays</li>
<li><code>4000 0000 0000 0002</code> is declined</li>
<li><code>4000 0000 0000 9995</code> has insufficient funds</li>
<li><code>4000 0000 0000 0101</code> pays later (delayed)</li>
</ul></details>
{% else %}
{% if error %}<p class="alert" role="alert">{{ error }}</p>{% endif %}
<p>{{ message }}</p>
{% if link %}<p><a href="{{ link }}">{{ link_text }}</a></p>{% endif %}
{% endif %}
</main>
</body>
</html>
"""
