"""Daily reports built on one template (issue 19): a market close, a sports result, a weather report and an
earnings report. Two wordings of each: "tune" uses the first, "held-out" the second, so a method tuned on one
wording is checked on another. A day's report keeps the wording and changes the figures, names and dates;
`fill` draws them. Reports of consecutive days share about 40% of their 4-word shingles (Jaccard 0.35-0.45,
containment 0.5-0.6): the generator measures and prints it.
"""

from __future__ import annotations

import random
from datetime import datetime

CITIES = ("Riverton", "Ashford", "Millbrook", "Kingsport", "Lakeview", "Harrow", "Bayside", "Crestwood", "Oakdale")
COMPANIES = (
    "Northwind Systems", "Halvorsen Foods", "Brightline Energy", "Castell Pharma", "Meridian Freight",
    "Orchard Retail", "Tessera Chips", "Vantage Media", "Bluewater Mining", "Quarry Lane Homes", "Solace Health",
    "Ironbridge Steel", "Pinecrest Bank", "Lumen Telecom", "Redfield Motors", "Aster Biotech", "Granite Insurance",
)  # fmt: skip
TEAMS = (
    "Riverton Hawks", "Ashford Miners", "Millbrook Rovers", "Kingsport Admirals", "Lakeview Lynx", "Harrow Giants",
    "Bayside Pilots", "Crestwood Bears", "Oakdale Comets", "Westbury Foxes", "Northgate Titans", "Fairhaven Kings",
)  # fmt: skip
PLAYERS = (
    "Marcus Hale", "Devin Ortiz", "Luca Brandt", "Tyrese Cole", "Jonah Whitaker", "Andre Silva", "Kofi Mensah",
    "Ryan Castellano", "Eli Novak", "Mateo Ruiz", "Isaiah Grant", "Owen Fletcher", "Darius Lowe", "Nico Varga",
)  # fmt: skip
ANALYSTS = ("Karen Liu", "Paul Ostrowski", "Maya Fernandes", "Daniel Reyes", "Helen Park", "Simon Achebe", "Ruth Klein")
FIRMS = ("Harbor Capital", "Keystone Advisors", "Summit Securities", "Bellwether Research", "Norland Partners")
FACTORS = (
    "fresh inflation data", "comments from central bank officials", "a rally in technology shares",
    "weaker factory orders", "rising bond yields", "a surprise jump in jobless claims", "strong retail sales",
    "uncertainty over trade talks", "a slide in commodity prices", "upbeat earnings from lenders",
)  # fmt: skip
SKIES = ("sunny", "partly cloudy", "mostly cloudy", "overcast", "clear", "hazy")
WEATHER = (
    "scattered showers",
    "a chance of thunderstorms",
    "patchy fog",
    "light drizzle",
    "gusty winds",
    "snow flurries",
)
DIRECTIONS = ("north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest")

TEMPLATES = {
    "market close": (
        "{city} stocks {moved} on {weekday} as investors weighed {factor}. The {city} Composite index {updown} "
        "{points} points, or {pct} percent, to close at {level}, while the broader market {updown2} {pct2} "
        "percent.\n\n"
        "Trading volume was {volume} million shares, {comparison} the 30-day average. Shares of {company} led "
        "the gains, climbing {gain} percent, while {company2} was the biggest decliner, falling {loss} percent "
        "by the close.\n\n"
        "The dollar {fxmove} to {fx} against the euro, and the yield on the 10-year note {ymove} to {yld} "
        "percent. Oil settled at ${oil} a barrel and gold {gmove} to ${gold} an ounce.\n\n"
        "\u201cMarkets are still looking for direction,\u201d said {analyst}, chief strategist at {firm}. "
        "Investors will watch {next_event} on {next_day} for further clues. Markets reopen at 9:30 a.m. on "
        "{next_day}.",
        "Equities in {city} ended {weekday}'s session {moved2}, with traders reacting to {factor}. By the closing "
        "bell the {city} Composite had {updown3} {points} points, a move of {pct} percent, to finish at {level}; "
        "the wider market was {updown4} {pct2} percent.\n\n"
        "Some {volume} million shares changed hands, {comparison} the monthly average. {company} was the best "
        "performer, up {gain} percent on the day, and {company2} the worst, down {loss} percent.\n\n"
        "In other markets the dollar was quoted at {fx} per euro after it {fxmove}, the 10-year yield {ymove} to "
        "{yld} percent, crude oil settled at ${oil} a barrel and gold {gmove} to ${gold} an ounce.\n\n"
        "\u201cThe tape is still undecided,\u201d {analyst} of {firm} told clients. Traders now turn to "
        "{next_event}, due on {next_day}.",
    ),
    "sports result": (
        "The {team} {result} the {opponent} {score} on {weekday} night at {venue}, {streak}.\n\n"
        "{player} led the {team} with {pts} points and {reb} rebounds, while {player2} added {pts2} points and "
        "{ast} assists. For the {opponent}, {player3} scored {pts3} points in {minutes} minutes.\n\n"
        "The {team} shot {fg} percent from the field and made {threes} three-pointers. They led by {lead} "
        "points at halftime and {held} in the fourth quarter. A crowd of {crowd} watched the game.\n\n"
        "\u201cWe played {quality} basketball tonight,\u201d coach {coach} said after the game. \u201cThe "
        "guys {effort}.\u201d\n\n"
        "The {team} ({wins}-{losses}) host the {next_opponent} on {next_day}, with tip-off at {tip} p.m.",
        "{weekday} night's game at {venue} went the way of the {team}, who {result2} the {opponent} "
        "{score}, {streak}.\n\n"
        "Top scorer for the {team} was {player} with {pts} points, plus {reb} rebounds; {player2} chipped in "
        "{pts2} points and {ast} assists. {player3} had {pts3} points for the {opponent} in {minutes} minutes on "
        "the floor.\n\n"
        "Shooting {fg} percent overall with {threes} made threes, the {team} were up {lead} at the break and "
        "{held} late on. Attendance was {crowd}.\n\n"
        "Coach {coach} called it {quality} basketball: \u201cThe guys {effort}.\u201d At {wins}-{losses} the "
        "{team} meet the {next_opponent} next, on {next_day} at {tip} p.m.",
    ),
    "weather report": (
        "{city} weather for {weekday}, {date}: expect {sky} skies with a high of {high} degrees and a low of "
        "{low}. Winds will blow from the {direction} at {wind} to {gust} miles per hour, with {weather} in the "
        "{period}.\n\n"
        "The chance of rain is {rain} percent, and humidity will reach {humidity} percent by the afternoon. "
        "Sunrise is at {sunrise} a.m. and sunset at {sunset} p.m.\n\n"
        "The air quality index is expected to be {aqi}, which is {aqi_level} for most people. The pollen count "
        "will be {pollen}.\n\n"
        "Looking ahead, {next_day} will be {trend} with a high near {next_high} degrees. Forecaster {analyst} "
        "said {outlook}. Check back tomorrow for the {city} forecast for {next_day}.",
        "Forecast for {city}, {weekday} {date}. Skies: {sky}. Temperatures from a low of {low} up to a high of "
        "{high} degrees, and a {direction} wind of {wind} mph gusting to {gust}; {weather} are possible during "
        "the {period}.\n\n"
        "Rain chance stands at {rain} percent with afternoon humidity around {humidity} percent. The sun rises "
        "at {sunrise} a.m. and sets at {sunset} p.m.\n\n"
        "Air quality: index {aqi}, rated {aqi_level} for most residents. Pollen: {pollen}.\n\n"
        "Outlook: {next_day} turns {trend}, high around {next_high} degrees. {analyst}, on duty at the forecast "
        "desk, said {outlook}.",
    ),
    "earnings report": (
        "{company} reported {quarter} earnings on {weekday} that {beat} Wall Street expectations. The company "
        "earned {eps} per share, compared with the {est_eps} analysts had expected, on revenue of ${revenue} "
        "billion, {rev_cmp} the ${est_rev} billion forecast.\n\n"
        "Net income {ni_move} to ${ni} million from ${ni_prev} million a year earlier. Revenue from {segment} "
        "grew {seg_growth} percent, while {segment2} sales {seg2_move} {seg2_pct} percent.\n\n"
        "{company} now expects full-year revenue of ${guide_lo} billion to ${guide_hi} billion. Chief executive "
        "{ceo} said the company was \u201c{ceo_quote}.\u201d\n\n"
        "Shares of {company} {share_move} {share_pct} percent in after-hours trading. The stock has {ytd_move} "
        "{ytd} percent this year. {company} will hold a conference call with analysts at {call} p.m. on "
        "{weekday}.",
        "Quarterly results from {company}, out on {weekday}, {beat} analyst forecasts: {quarter} earnings per "
        "share came in at {eps} against a consensus of {est_eps}, and revenue totalled ${revenue} billion, "
        "{rev_cmp} the ${est_rev} billion expected.\n\n"
        "Profit {ni_move} to ${ni} million, from ${ni_prev} million in the same period last year. The "
        "{segment} business grew {seg_growth} percent; {segment2} {seg2_move} {seg2_pct} percent.\n\n"
        "For the full year {company} guided to revenue between ${guide_lo} billion and ${guide_hi} billion. "
        "\u201c{ceo_quote},\u201d chief executive {ceo} said in a statement.\n\n"
        "{company} stock {share_move} {share_pct} percent after hours and has {ytd_move} {ytd} percent so far "
        "this year; management hosts an analyst call at {call} p.m.",
    ),
}
# The paragraph a daily report repeats every day (how the figures are compiled, where to find more).
STANDING = {
    "market close": (
        "About this report: the {city} Composite index tracks the 200 largest companies listed on the {city} "
        "exchange, weighted by market value. Closing levels are provisional until the exchange publishes its "
        "official figures, usually within an hour of the close. Prices of oil and gold are the last settlement "
        "of the front-month contract. This daily market summary is compiled by our business desk from exchange "
        "data and does not constitute investment advice.",
        "How we report the close: figures for the {city} Composite, which covers the 200 biggest companies on "
        "the {city} exchange by market value, are provisional until the exchange confirms them, normally within "
        "the hour. Commodity prices refer to front-month contract settlements. The business desk prepares this "
        "summary every trading day from exchange data; nothing in it is investment advice. Quotes are delayed by at "
        "least 15 minutes.",
    ),
    "sports result": (
        "Box scores, standings and the full schedule for the {team} are available in our sports section. "
        "Statistics are provided by the league and may be revised after official review. Our coverage of every "
        "{team} game, home and away, includes a preview on game day, this recap after the final buzzer, and "
        "postgame video interviews with players and coaches in the locker room.",
        "Full box scores, the league table and the rest of the {team} schedule can be found in the sports "
        "section. All statistics come from the league and are subject to revision after official review. For "
        "every {team} game, home or away, we publish a preview on game day, a recap like this one after the "
        "final buzzer, and video interviews with players and coaches.",
    ),
    "weather report": (
        "This forecast is prepared every morning from National Weather Service data for the {city} area and "
        "updated in the afternoon if conditions change. Temperatures are in degrees Fahrenheit and wind speeds "
        "in miles per hour. Severe weather alerts are posted on our homepage as soon as they are issued, and "
        "you can sign up for text alerts on our weather page.",
        "We prepare this forecast each morning from National Weather Service data for the {city} area and "
        "update it in the afternoon when conditions change. Temperatures are given in degrees Fahrenheit, wind "
        "speeds in miles per hour. Any severe weather alert goes on our homepage the moment it is issued; text "
        "alerts are available from the weather page.",
    ),
    "earnings report": (
        "About this report: earnings per share are adjusted figures excluding one-time items unless otherwise "
        "noted. Analyst estimates are the consensus compiled by a financial data provider before the release. "
        "This article was generated from the company's earnings release and regulatory filings by our markets "
        "desk and reviewed by an editor before publication. All figures are in U.S. dollars, and past results "
        "are no guide "
        "to future performance.",
        "Notes: per-share earnings are adjusted and exclude one-time items unless stated. The analyst "
        "estimates are a consensus compiled by a financial data provider ahead of the release. Our markets desk "
        "produced this article from the company's earnings release and regulatory filings, and an editor "
        "reviewed it before publication. Figures are in U.S. dollars; past results are no guide to future "
        "performance.",
    ),
}
TITLES = {
    "market close": "{city} stocks {moved} as investors weigh {factor}",
    "sports result": "{team} {result} {opponent} {score}",
    "weather report": "{city} weather for {weekday}, {date}",
    "earnings report": "{company} {quarter} earnings {beat} estimates",
}


def _pct(rng: random.Random, top: float = 3.0) -> str:
    return f"{rng.uniform(0.1, top):.1f}"


def fill(kind: str, day: datetime, family: dict, rng: random.Random) -> dict[str, str]:
    """The figures, names and dates of one day's report; `family` holds what stays fixed (city, team...)."""
    weekday = day.strftime("%A")
    next_day = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")[(day.weekday() + 1) % 7]
    values = {"weekday": weekday, "next_day": next_day, "date": day.strftime("%B %-d"), **family}
    values["analyst"] = rng.choice(ANALYSTS)
    if kind == "market close":
        up = rng.random() < 0.5
        values |= {
            "moved": "rose" if up else "fell", "moved2": "higher" if up else "lower", "factor": rng.choice(FACTORS),
            "updown": "gained" if up else "lost", "updown3": "added" if up else "shed",
            "points": f"{rng.uniform(5, 260):.2f}", "pct": _pct(rng), "level": f"{rng.uniform(9000, 16000):,.2f}",
            "updown2": rng.choice(("rose", "fell", "edged up", "slipped")),
            "updown4": rng.choice(("up", "down", "flat at")), "pct2": _pct(rng),
            "volume": f"{rng.uniform(300, 1500):.0f}", "comparison": rng.choice(("above", "below", "in line with")),
            "company": rng.choice(COMPANIES), "company2": rng.choice(COMPANIES),
            "gain": _pct(rng, 12), "loss": _pct(rng, 12), "fxmove": rng.choice(("rose", "fell", "held steady")),
            "fx": f"{rng.uniform(0.85, 1.05):.4f}", "ymove": rng.choice(("rose", "fell", "was unchanged")),
            "yld": f"{rng.uniform(1.5, 4.9):.2f}", "oil": f"{rng.uniform(60, 95):.2f}",
            "gmove": rng.choice(("rose", "fell", "slipped", "climbed")), "gold": f"{rng.uniform(1700, 2100):,.2f}",
            "firm": rng.choice(FIRMS),
            "next_event": rng.choice(("the jobs report", "retail sales figures", "the central bank minutes",
                                      "consumer price data", "quarterly GDP figures")),
        }  # fmt: skip
    elif kind == "sports result":
        win = rng.random() < 0.6
        high, low = rng.randint(95, 128), rng.randint(80, 110)
        high, low = max(high, low + 1), min(high - 1, low)
        values |= {
            "opponent": rng.choice([t for t in TEAMS if t != family["team"]]),
            "result": "beat" if win else "lost to", "result2": "beat" if win else "fell to",
            "score": f"{high}-{low}" if win else f"{low}-{high}",
            "streak": rng.choice(("their third straight win", "snapping a two-game skid",
                                  "their fifth loss in six games",
                                  "extending their home streak to four", "ending a four-game road trip")),
            "player": rng.choice(PLAYERS), "player2": rng.choice(PLAYERS), "player3": rng.choice(PLAYERS),
            "pts": rng.randint(14, 41), "reb": rng.randint(3, 15), "pts2": rng.randint(8, 25),
            "ast": rng.randint(2, 13),
            "pts3": rng.randint(10, 38), "minutes": rng.randint(24, 42), "fg": f"{rng.uniform(38, 58):.1f}",
            "threes": rng.randint(6, 19), "lead": rng.randint(1, 18),
            "held": rng.choice(("held on", "pulled away", "survived a late run", "never trailed")),
            "crowd": f"{rng.randint(11000, 19500):,}", "quality": rng.choice(("good", "great", "sloppy", "gritty")),
            "effort": rng.choice(("competed for 48 minutes", "kept fighting", "moved the ball well",
                                  "defended hard all night")),
            "wins": rng.randint(3, 30), "losses": rng.randint(3, 30),
            "next_opponent": rng.choice(TEAMS), "tip": rng.choice(("7", "7:30", "8", "6:30")),
        }  # fmt: skip
    elif kind == "weather report":
        low = rng.randint(28, 65)
        wind = rng.randint(3, 18)
        values |= {
            "sky": rng.choice(SKIES), "high": low + rng.randint(6, 22), "low": low, "direction": rng.choice(DIRECTIONS),
            "wind": wind, "gust": wind + rng.randint(5, 15), "weather": rng.choice(WEATHER),
            "period": rng.choice(("morning", "afternoon", "evening", "overnight hours")),
            "rain": rng.randrange(0, 95, 5), "humidity": rng.randint(30, 95),
            "sunrise": f"6:{rng.randint(10, 59)}", "sunset": f"{rng.choice((5, 6, 7))}:{rng.randint(10, 59)}",
            "aqi": rng.randint(18, 160),
            "aqi_level": rng.choice(("good", "moderate", "unhealthy for sensitive groups")),
            "pollen": rng.choice(("low", "moderate", "high", "very high")),
            "trend": rng.choice(("warmer", "cooler", "wetter", "drier", "breezy")), "next_high": rng.randint(35, 88),
            "outlook": rng.choice(("a cold front would arrive by the weekend", "high pressure should keep things calm",
                                   "a storm system could bring heavy rain", "temperatures will climb all week")),
        }  # fmt: skip
    else:
        beat = rng.random() < 0.6
        revenue = rng.uniform(1.2, 40)
        ni = rng.uniform(50, 4000)
        low = revenue * 4 * rng.uniform(0.9, 1.0)
        values |= {
            "company": rng.choice(COMPANIES), "quarter": rng.choice(("first-quarter", "second-quarter",
                                                                    "third-quarter", "fourth-quarter")),
            "beat": "beat" if beat else "missed", "eps": f"${rng.uniform(0.1, 4.5):.2f}",
            "est_eps": f"${rng.uniform(0.1, 4.5):.2f}", "revenue": f"{revenue:.2f}",
            "rev_cmp": rng.choice(("above", "below", "roughly matching")),
            "est_rev": f"{revenue * rng.uniform(0.9, 1.1):.2f}",
            "ni_move": rng.choice(("rose", "fell", "jumped", "slid")), "ni": f"{ni:,.0f}",
            "ni_prev": f"{ni * rng.uniform(0.7, 1.3):,.0f}",
            "segment": rng.choice(("cloud services", "consumer products", "industrial equipment", "advertising",
                                   "pharmaceuticals", "freight")), "seg_growth": rng.randint(2, 48),
            "segment2": rng.choice(("hardware", "licensing", "retail", "mining", "insurance", "wholesale")),
            "seg2_move": rng.choice(("fell", "rose", "slipped", "edged up")), "seg2_pct": rng.randint(1, 25),
            "guide_lo": f"{low:.1f}", "guide_hi": f"{low * 1.05:.1f}", "ceo": rng.choice(ANALYSTS),
            "ceo_quote": rng.choice(("pleased with the momentum in our core business",
                                     "disciplined in a difficult environment", "investing for long-term growth",
                                     "seeing demand recover faster than expected")),
            "share_move": rng.choice(("rose", "fell", "jumped", "dropped")), "share_pct": _pct(rng, 15),
            "ytd_move": rng.choice(("gained", "lost")), "ytd": rng.randint(2, 60),
            "call": rng.choice(("4:30", "5", "5:30")),
        }  # fmt: skip
    return {key: str(value) for key, value in values.items()}


def family_fields(kind: str, rng: random.Random) -> dict[str, str]:
    """What stays the same across a family's days: the market's city, the team, the weather's city."""
    team = rng.choice(TEAMS)
    return {
        "city": rng.choice(CITIES),
        "team": team,
        "venue": f"{team.split()[0]} Arena",
        "coach": rng.choice(ANALYSTS),
    }


def report(kind: str, wording: int, day: datetime, family: dict, rng: random.Random) -> tuple[str, str, dict]:
    """(title, text, the values used) of one day's report in the given wording (0: tune, 1: held-out)."""
    values = fill(kind, day, family, rng)
    text = TEMPLATES[kind][wording].format(**values) + "\n\n" + STANDING[kind][wording].format(**values)
    return TITLES[kind].format(**values), text, values
