"""A dialogue-summarization dataset in the style of DialogSum, written by this project.

The workshop prefers the public DialogSum dataset, but it cannot be downloaded offline,
so this module writes a stand-in: everyday two-person dialogues from a dozen scenario
families, each with a short third-person summary. Everything comes from seeded
``random.Random`` instances, so ``python -m tools.synthetic`` rewrites
``data/dialogues.jsonl`` byte for byte.

Each row is ``{"id": "dlg-0001", "topic": ..., "dialogue": ..., "summary": ...}``; the
dialogue has one ``#Person1#: ...`` / ``#Person2#: ...`` turn per line.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SIZE = 400
"""Rows written by ``python -m tools.synthetic``."""

DEFAULT_SEED = 7
"""Seed of the bundled file."""

OUTPUT_PATH = Path(__file__).resolve().parents[1] / "data" / "dialogues.jsonl"
"""Where the bundled dataset lives."""

MIN_TURNS = 4
MAX_TURNS = 10


@dataclass(frozen=True)
class Scenario:
    """One generated conversation before it becomes a row.

    Attributes:
        topic: Name of the scenario family.
        turns: ``(speaker, text)`` pairs, speaker 1 or 2.
        summary: Third-person summary of the conversation.
        slots: Key values the summary mentions; each one also occurs in the dialogue.
    """

    topic: str
    turns: tuple[tuple[int, str], ...]
    summary: str
    slots: tuple[str, ...]

    @property
    def dialogue(self) -> str:
        """The turns in DialogSum layout, one per line."""
        return "\n".join(f"#Person{speaker}#: {text}" for speaker, text in self.turns)


FIRST_NAMES = (
    "Anna", "Ben", "Carlos", "Diana", "Emma", "Farid", "Grace", "Hiro", "Isabel", "Jack",
    "Karen", "Leo", "Maria", "Nadia", "Oliver", "Priya", "Rosa", "Sam", "Tom", "Uma",
    "Victor", "Wendy", "Yusuf", "Zoe", "Lena", "Marcus",
)  # fmt: skip
SURNAMES = (
    "Smith", "Brown", "Garcia", "Chen", "Miller", "Novak", "Patel", "Rossi", "Kim", "Walker",
    "Evans", "Silva", "Okafor", "Jensen", "Murphy", "Tanaka", "Dubois", "Khan",
)  # fmt: skip
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS = DAYS[:5]
CITIES = (
    "Paris", "Madrid", "Tokyo", "Chicago", "Berlin", "Lisbon", "Dubai", "Toronto",
    "Rome", "Dublin", "Vienna", "Seoul", "Boston", "Athens",
)  # fmt: skip
COLOURS = ("blue", "black", "red", "green", "grey", "white", "brown", "yellow", "navy")
NUMBER_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


class _Script:
    """Collects turns, picking one phrasing per turn with the scenario's own generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.turns: list[tuple[int, str]] = []

    def say(self, speaker: int, *phrasings: str) -> None:
        """Add a turn for ``speaker`` using one of ``phrasings``."""
        self.turns.append((speaker, self.rng.choice(phrasings)))

    def maybe(self, probability: float) -> bool:
        """Return True with the given probability (optional turns keep lengths varied)."""
        return self.rng.random() < probability

    def finish(self, topic: str, summary: str, slots: Sequence[str]) -> Scenario:
        """Freeze the script into a :class:`Scenario`."""
        return Scenario(topic, tuple(self.turns), summary, tuple(slots))


def _a(phrase: str) -> str:
    """Prefix ``phrase`` with "a" or "an"."""
    return ("an " if phrase[0].lower() in "aeiou" else "a ") + phrase


def _returning_item(rng: random.Random) -> Scenario:
    s = _Script(rng)
    item = f"{rng.choice(COLOURS)} {rng.choice(ITEMS)}"
    day = rng.choice(DAYS)
    reason = rng.choice(RETURN_REASONS)
    price = rng.randrange(15, 130)
    has_receipt = s.maybe(0.7)
    wants_exchange = has_receipt and s.maybe(0.4)

    if s.maybe(0.5):
        s.say(2, "Good morning, how can I help you?", "Hi there, what can I do for you?")
    s.say(
        1,
        f"Hi, I'd like to return this {item}.",
        f"Excuse me, can I bring back this {item}?",
        f"Hello. I want to return this {item}, please.",
    )
    s.say(
        2,
        "Of course. What's wrong with it?",
        "Sure. Is there something wrong with it?",
        "I see. May I ask what the problem is?",
    )
    s.say(
        1,
        f"It's {reason}. I only bought it on {day}.",
        f"I bought it here on {day}, but when I got home I saw it's {reason}.",
        f"I'm afraid it's {reason}. I got it on {day}.",
    )
    s.say(2, "Do you have the receipt?", "Have you got the receipt with you?")
    if has_receipt:
        s.say(
            1, f"Yes, here it is. I paid ${price} for it.", f"Yes, it was ${price}. Here you are."
        )
    else:
        s.say(1, "No, I'm afraid I threw it away.", "I can't find it, sorry. Is that a problem?")
    if wants_exchange:
        s.say(
            2,
            "Would you like a refund or an exchange?",
            "Shall I refund you, or would you like a new one?",
        )
        s.say(1, "I'd rather exchange it for a new one.", "An exchange, please. I still like it.")
        s.say(
            2,
            "No problem, I'll get you a new one from the back.",
            "Sure, here's a new one for you.",
        )
        summary = rng.choice(
            (
                f"#Person1# brings back {_a(item)} bought on {day} because it is {reason}. "
                "#Person2# exchanges it for a new one.",
                f"#Person1# wants to exchange {_a(item)} that is {reason}, and #Person2# gives "
                "#Person1# a new one.",
            )
        )
        slots = [item, reason]
    elif has_receipt:
        s.say(
            2,
            f"That's fine. I can give you a full refund of ${price}.",
            f"No problem, I'll put the ${price} back on your card.",
        )
        summary = rng.choice(
            (
                f"#Person1# wants to return {_a(item)} bought on {day} because it is {reason}. "
                f"#Person2# gives #Person1# a refund of ${price}.",
                f"#Person1# returns {_a(item)} that is {reason} and gets a full refund of ${price} "
                "from #Person2#.",
            )
        )
        slots = [item, reason, str(price)]
    else:
        s.say(
            2,
            "Without a receipt I can only offer you store credit.",
            "I'm sorry, without the receipt we can only give store credit.",
        )
        summary = rng.choice(
            (
                f"#Person1# wants to return {_a(item)} that is {reason} but has no receipt, "
                "so #Person2# can only offer store credit.",
                f"#Person1# has no receipt for {_a(item)} bought on {day} that is {reason}. "
                "#Person2# offers store credit instead of a refund.",
            )
        )
        slots = [item, reason, "store credit"]
    if s.maybe(0.6):
        s.say(1, "That's fine, thank you.", "OK, I'll take that.", "Great, thanks for your help.")
    return s.finish("returning an item", summary, slots)


ITEMS = (
    "jacket", "sweater", "kettle", "lamp", "backpack", "toaster", "scarf", "raincoat",
    "phone case", "coffee maker", "pair of jeans", "pair of trainers", "hair dryer",
)  # fmt: skip
RETURN_REASONS = (
    "too small", "too big", "broken", "scratched", "the wrong size", "faulty", "torn",
    "missing a part",
)  # fmt: skip


def _booking_table(rng: random.Random) -> Scenario:
    s = _Script(rng)
    restaurant = rng.choice(RESTAURANTS)
    size = rng.choice(NUMBER_WORDS[:7])
    day = rng.choice(DAYS)
    wanted, alternative = rng.sample(EVENING_TIMES, 2)
    surname = rng.choice(SURNAMES)
    full = s.maybe(0.4)
    request = rng.choice(TABLE_REQUESTS) if s.maybe(0.6) else None
    time = alternative if full else wanted

    s.say(
        2,
        f"Good evening, {restaurant}. How can I help?",
        f"Hello, this is {restaurant}. What can I do for you?",
    )
    s.say(
        1,
        f"Hello, I'd like to book a table for {size} on {day}.",
        f"Hi, do you have a table for {size} people on {day}?",
        f"Good evening. Could I reserve a table for {size} this {day}?",
    )
    s.say(2, "Certainly. What time would you like?", "Let me check. For what time?")
    s.say(1, f"Around {wanted}, please.", f"At {wanted}, if possible.")
    if full:
        s.say(
            2,
            f"I'm sorry, we're fully booked at {wanted}. We could do {alternative} instead.",
            f"Unfortunately {wanted} is taken. Would {alternative} suit you?",
        )
        s.say(1, f"{alternative} is fine.", f"OK, {alternative} works for us.")
    s.say(2, "May I have your name, please?", "Can I take a name for the booking?")
    s.say(1, f"It's {surname}.", f"Under {surname}, please.")
    if request:
        s.say(
            1,
            f"Oh, and could we have {request}?",
            f"One more thing: would it be possible to get {request}?",
        )
        s.say(2, "Yes, I'll make a note of that.", "I'll do my best, I've written it down.")
    # A closing read-back would push the longest variant past ten turns.
    if not (full and request) and s.maybe(0.5):
        s.say(
            2,
            f"So that's a table for {size} at {time} on {day}. See you then.",
            f"All done, {surname}, {size} people on {day} at {time}.",
        )
    if full:
        summary = (
            f"#Person2# has no table at {wanted}, so #Person1# books a table for {size} at "
            f"{restaurant} on {day} at {alternative} under the name {surname}."
        )
    else:
        summary = rng.choice(
            (
                f"#Person1# books a table for {size} at {restaurant} on {day} at {wanted} "
                f"under the name {surname}.",
                f"#Person1# calls {restaurant} and reserves a table for {size} people on {day} "
                f"at {wanted}.",
            )
        )
    slots = [size, restaurant, day, time]
    if request:
        summary += f" #Person1# also asks for {request}."
        slots.append(request)
    return s.finish("booking a table", summary, slots)


RESTAURANTS = (
    "Luigi's", "the Golden Dragon", "Cafe Rosa", "the Blue Anchor", "Spice Garden",
    "the Old Mill", "Casa Verde", "the Harbour Grill",
)  # fmt: skip
EVENING_TIMES = ("6 pm", "6:30 pm", "7 pm", "7:30 pm", "8 pm", "8:30 pm", "9 pm")
TABLE_REQUESTS = (
    "a table by the window", "a high chair for a baby", "a quiet corner", "a table on the terrace",
    "a vegetarian menu", "a birthday cake at the end",
)  # fmt: skip


def _doctors_appointment(rng: random.Random) -> Scenario:
    s = _Script(rng)
    symptom = rng.choice(SYMPTOMS)
    duration = rng.choice(("three days", "a week", "two weeks", "a few days", "about ten days"))
    doctor = f"Dr. {rng.choice(SURNAMES)}"
    day = rng.choice(WEEKDAYS)
    time = rng.choice(("9 am", "9:30 am", "10:15 am", "11 am", "2 pm", "3:45 pm", "4:30 pm"))
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
    advice_said, advice_summary, advice_slot = rng.choice(ADVICE)
    asks_earlier = s.maybe(0.35)

    if not asks_earlier and s.maybe(0.6):
        s.say(2, "Good morning, Riverside Surgery.", "Hello, health centre, how can I help?")
    s.say(
        1,
        "Hello, I'd like to make an appointment to see a doctor.",
        "Hi, I need to see a doctor as soon as possible.",
    )
    s.say(2, "What seems to be the problem?", "Of course. What's the matter?")
    s.say(
        1,
        f"I've had {symptom} for {duration} and it isn't getting better.",
        f"I've had {symptom} for {duration} now.",
    )
    if asks_earlier:
        s.say(2, f"The first free slot is with {doctor} next week.")
        s.say(1, "Is there nothing earlier? It's quite bad.")
        s.say(
            2,
            f"Let me look again. Someone cancelled, so {doctor} can see you on {day} at {time}.",
        )
    else:
        s.say(
            2,
            f"{doctor} has a free slot on {day} at {time}. Would that suit you?",
            f"I can offer you {day} at {time} with {doctor}.",
        )
    s.say(1, "Yes, that's perfect.", "That's fine, I'll take it.")
    if s.maybe(0.5):
        s.say(2, "Could I have your full name, please?")
        s.say(1, f"It's {name}.")
    s.say(
        2, f"Thank you. Please {advice_said}.", f"You're booked in. Don't forget to {advice_said}."
    )
    summary = rng.choice(
        (
            f"#Person1# has had {symptom} for {duration} and makes an appointment with {doctor} "
            f"on {day} at {time}. #Person2# asks #Person1# to {advice_summary}.",
            f"#Person1# calls about {symptom} and gets an appointment on {day} at {time} with "
            f"{doctor}; #Person1# must {advice_summary}.",
        )
    )
    return s.finish("doctor's appointment", summary, [symptom, doctor, day, time, advice_slot])


SYMPTOMS = (
    "a sore throat", "back pain", "a bad cough", "headaches", "a rash on my arm", "an earache",
    "a high temperature", "pain in my knee", "trouble sleeping",
)  # fmt: skip
ADVICE = (
    ("arrive ten minutes early", "arrive ten minutes early", "ten minutes early"),
    ("bring your insurance card", "bring an insurance card", "insurance card"),
    ("fill in a form when you arrive", "fill in a form on arrival", "form"),
    ("bring a list of your medicines", "bring a list of medicines", "medicines"),
)


def _job_interview(rng: random.Random) -> Scenario:
    s = _Script(rng)
    position = rng.choice(POSITIONS)
    previous, workplaces = rng.choice(PREVIOUS_JOBS)
    years = rng.choice(NUMBER_WORDS[:6])
    company = rng.choice(workplaces)
    strength = rng.choice(STRENGTHS)
    start = rng.choice(("next month", "in two weeks", "right away", "on Monday", "in March"))
    answer_day = rng.choice(WEEKDAYS)

    s.say(
        1,
        f"Good afternoon, please take a seat. You're here for the {position} position, right?",
        f"Thank you for coming in. So you've applied to be our new {position}.",
    )
    s.say(2, "Yes, that's right. Thank you for inviting me.", "Yes. I'm very glad to be here.")
    s.say(1, "Can you tell me about your experience?", "What have you been doing until now?")
    s.say(
        2,
        f"I've worked as {_a(previous)} at {company} for {years} years.",
        f"For the last {years} years I've been {_a(previous)} at {company}.",
    )
    asked_start = s.maybe(0.6)
    # Both optional exchanges together would make eleven turns.
    if not asked_start and s.maybe(0.7):
        s.say(1, "Why do you want to leave?", "And why are you looking for a new job?")
        s.say(
            2,
            "I'm looking for more responsibility.",
            "The company is moving to another city.",
            "I want to learn new skills.",
        )
    s.say(1, "What would you say is your greatest strength?", "What are you especially good at?")
    s.say(2, f"I think it's {strength}.", f"People tell me it's {strength}.")
    if asked_start:
        s.say(1, "When could you start?", "If we offer you the job, when would you be free?")
        s.say(2, f"I could start {start}.", f"I'd be able to start {start}.")
    s.say(
        1,
        f"Thank you. We'll let you know by {answer_day}.",
        f"Good. You'll hear from us by {answer_day}.",
    )
    summary = (
        f"#Person1# interviews #Person2# for the {position} position. #Person2# has worked as "
        f"{_a(previous)} for {years} years"
    )
    slots = [position, previous, years, strength]
    if asked_start:
        summary += f", names {strength} as a strength and could start {start}."
        slots.append(start)
    else:
        summary += f" and names {strength} as a strength. #Person1# will answer by {answer_day}."
        slots.append(answer_day)
    return s.finish("job interview", summary, slots)


POSITIONS = (
    "sales assistant", "junior accountant", "graphic designer", "nurse", "software tester",
    "chef", "teacher", "receptionist", "marketing manager",
)  # fmt: skip
PREVIOUS_JOBS = (
    ("shop assistant", ("a supermarket", "a small bakery", "a bookshop")),
    ("bookkeeper", ("a bank", "a law firm", "a small bakery")),
    ("web designer", ("a software company", "an advertising agency")),
    ("care worker", ("the city hospital", "a care home")),
    ("programmer", ("a software company", "a bank")),
    ("cook", ("a hotel", "a busy restaurant", "a school canteen")),
    ("tutor", ("a language school", "a private college")),
    ("office manager", ("a law firm", "a hotel", "an advertising agency")),
    ("waiter", ("a hotel", "a busy restaurant")),
)
STRENGTHS = (
    "teamwork", "patience", "attention to detail", "speaking three languages",
    "staying calm under pressure", "organisation",
)  # fmt: skip


def _lost_luggage(rng: random.Random) -> Scenario:
    s = _Script(rng)
    city = rng.choice(CITIES)
    colour = rng.choice(COLOURS)
    bag = rng.choice(("suitcase", "backpack", "duffel bag", "travel bag"))
    detail = rng.choice(("with wheels", "with a broken handle", "with a name tag", "with stickers"))
    contents = rng.choice(
        ("my laptop charger", "my business clothes", "a wedding present", "my medicine")
    )
    hotel = rng.choice(HOTELS)
    delivery = rng.choice(("tomorrow morning", "tonight", "within two days", "tomorrow afternoon"))
    flight = f"{rng.choice(('BA', 'LH', 'AF', 'IB', 'KL'))} {rng.randrange(100, 999)}"

    s.say(
        1,
        f"Excuse me, my bag didn't come out on the belt. I was on flight {flight} from {city}.",
        f"Hello, I've just arrived from {city} and my luggage is missing.",
    )
    s.say(
        2,
        "I'm sorry to hear that. Can you describe the bag?",
        "I'm sorry about that. What does it look like?",
    )
    s.say(1, f"It's a {colour} {bag} {detail}.", f"A {colour} {bag}, {detail}.")
    if s.maybe(0.6):
        s.say(2, "Is there anything valuable inside?", "Is there anything important in it?")
        s.say(1, f"Yes, {contents}. I need it.", f"Well, {contents} is in there.")
    s.say(2, "Where are you staying?", "Which address should we send it to?")
    s.say(1, f"At {hotel}.", f"I'm at {hotel} in the centre.")
    s.say(
        2,
        f"We'll deliver it to {hotel} {delivery} once it arrives.",
        f"It's probably still in {city}. We'll bring it to your hotel {delivery}.",
    )
    if s.maybe(0.5):
        s.say(1, "Thank you, I hope it turns up.", "OK, thanks for your help.")
    summary = rng.choice(
        (
            f"#Person1#'s {colour} {bag} did not arrive on the flight from {city}. #Person2# "
            f"promises to deliver it to {hotel} {delivery}.",
            f"#Person1# reports a missing {colour} {bag} after a flight from {city}, and "
            f"#Person2# says it will be delivered {delivery}.",
        )
    )
    return s.finish("lost luggage", summary, [colour, bag, city, delivery])


HOTELS = (
    "the Grand Hotel", "the Park Inn", "the Riverside Hotel", "the Station Lodge",
    "the Royal Hotel", "the Seaview Hotel",
)  # fmt: skip


def _flat_viewing(rng: random.Random) -> Scenario:
    s = _Script(rng)
    rooms = rng.choice(("one-bedroom", "two-bedroom", "studio", "three-bedroom"))
    area = rng.choice(
        (
            "near the station",
            "in the city centre",
            "on Park Road",
            "next to the river",
            "by the university",
        )
    )
    rent = rng.randrange(6, 20) * 50
    feature = rng.choice(FEATURES)
    concern, reply = rng.choice(CONCERNS)
    takes_it = s.maybe(0.5)
    day = rng.choice(DAYS)

    s.say(
        2,
        f"Here we are. This is the {rooms} flat {area} I told you about.",
        f"Come in. So this is the {rooms} flat {area}.",
    )
    s.say(
        1,
        "It looks nice. How much is the rent?",
        "Oh, it's bigger than I expected. What's the rent?",
    )
    s.say(2, f"It's ${rent} a month, plus bills.", f"${rent} a month, and bills are extra.")
    s.say(1, "What do you like most about it?", "Is there anything special about it?")
    s.say(2, f"The best thing is {feature}.", f"Most people love that it has {feature}.")
    s.say(1, f"I'm a bit worried about {concern}.", f"To be honest, I don't like {concern}.")
    s.say(2, reply)
    if takes_it:
        s.say(1, "I think I'll take it. When can I move in?", "OK, I'll take it.")
        s.say(2, f"You can move in from {day}.", f"Great. The keys will be ready on {day}.")
        ending = "but decides to take it"
    else:
        s.say(
            1,
            f"I need to think about it. Can I call you on {day}?",
            f"Let me think it over. I'll call you on {day}.",
        )
        if s.maybe(0.5):
            s.say(2, "Of course, but don't wait too long.", "Sure, no problem.")
        ending = f"and will call back on {day}"
    summary = (
        f"#Person2# shows #Person1# a {rooms} flat {area} with {feature} for ${rent} a month. "
        f"#Person1# is worried about {concern} {ending}."
    )
    return s.finish("flat viewing", summary, [rooms, area, feature, str(rent), concern])


FEATURES = ("a balcony", "a new kitchen", "a small garden", "lots of light", "a big living room")
CONCERNS = (
    ("the noise from the street", "The windows are new, so you hardly hear it."),
    ("the small bathroom", "It's small, but everything in it is new."),
    ("the lack of a washing machine", "There's a laundry just around the corner."),
    ("the stairs", "There's no lift, I'm afraid, but it's only the second floor."),
    ("the parking", "There's a public car park nearby."),
)


def _bank_card_blocked(rng: random.Random) -> Scenario:
    s = _Script(rng)
    bank = rng.choice(("City Bank", "North Bank", "the Union Bank", "Harbour Savings"))
    place = rng.choice(("the supermarket", "a petrol station", "a restaurant", "the pharmacy"))
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
    digits = f"{rng.randrange(1000, 9999)}"
    city = rng.choice(CITIES)
    cause = rng.choice(("pin", "payment", "online"))
    fix_new_card = s.maybe(0.5)
    days = rng.choice(("three", "five", "seven"))

    s.say(2, f"Thank you for calling {bank}. How can I help?", f"{bank}, good afternoon.")
    s.say(
        1,
        f"Hi, my card was declined at {place} today and now it seems to be blocked.",
        f"Hello, I tried to pay at {place} and my card didn't work. I think it's blocked.",
    )
    s.say(
        2,
        "Let me check. Can you confirm your name and the last four digits of the card?",
        "I can look into that. What's your name and the last four digits of the card?",
    )
    s.say(1, f"{name}, and it ends in {digits}.", f"It's {name}. The card ends in {digits}.")
    if cause == "pin":
        s.say(2, "I see the card was blocked after three wrong PIN attempts.")
        s.say(1, "Oh, I must have mixed up my PIN.", "Really? I must have typed the wrong PIN.")
        reason = "three wrong PIN attempts"
    elif cause == "payment":
        s.say(2, f"It was blocked because of a suspicious payment in {city} this morning.")
        s.say(1, f"I've never been to {city}! That wasn't me.", f"I didn't pay anything in {city}.")
        reason = f"a suspicious payment in {city}"
    else:
        s.say(2, "Our system stopped an unusual online payment of a large amount.")
        s.say(1, "That wasn't me. I haven't bought anything online.")
        reason = "an unusual online payment"
    if fix_new_card:
        s.say(
            2,
            f"To be safe, I'll cancel this card and send you a new one within {days} working days.",
            f"I'll block it for good and post a new card to you. It takes {days} working days.",
        )
        fix = f"sends a new card within {days} working days"
    else:
        s.say(
            2,
            "I've unblocked it, so you can use it again right away.",
            "Everything looks fine now. I've unblocked the card for you.",
        )
        fix = "unblocks the card"
    if s.maybe(0.6):
        s.say(1, "Thank you so much.", "That's a relief, thanks.")
    summary = rng.choice(
        (
            f"#Person1#'s card was declined at {place} and blocked after {reason}. "
            f"#Person2# checks #Person1#'s details and {fix}.",
            f"#Person1# calls {bank} because the card is blocked after {reason}; #Person2# {fix}.",
        )
    )
    slots = [reason, bank] if "calls" in summary else [reason, place]
    if fix_new_card:
        slots.append(f"{days} working days")
    return s.finish("bank card blocked", summary, slots)


def _asking_directions(rng: random.Random) -> Scenario:
    s = _Script(rng)
    destination = rng.choice(DESTINATIONS)
    direction = rng.choice(("left", "right"))
    landmark = rng.choice(LANDMARKS)
    distance = rng.choice(
        ("five minutes' walk", "ten minutes' walk", "two blocks", "three hundred metres")
    )
    bus = rng.choice(("12", "7", "23", "41", "5"))
    asks_bus = s.maybe(0.5)

    s.say(
        1,
        f"Excuse me, could you tell me how to get to {destination}?",
        f"Sorry to bother you. Do you know the way to {destination}?",
        f"Excuse me, I'm looking for {destination}. Is it near here?",
    )
    s.say(
        2,
        f"Sure. Go straight down this street and turn {direction} at {landmark}.",
        f"Yes. Walk to {landmark} and then turn {direction}.",
    )
    s.say(1, "Is it far?", "How long does it take to walk?")
    s.say(2, f"No, it's about {distance}.", f"Not really, about {distance}.")
    if asks_bus:
        s.say(1, "Is there a bus that goes there?", "Can I take a bus instead?")
        s.say(2, f"Yes, the number {bus} stops right in front of it.", f"The {bus} bus goes there.")
    s.say(1, "Thanks a lot.", "Thank you, that's very kind.")
    if s.maybe(0.5):
        s.say(2, "You're welcome.", "No problem, enjoy your day.")
    summary = (
        f"#Person1# asks the way to {destination}. #Person2# says to turn {direction} at "
        f"{landmark}; it is about {distance}"
    )
    slots = [destination, direction, landmark, distance]
    if asks_bus:
        summary += f", and bus number {bus} also goes there."
        slots.append(bus)
    else:
        summary += " away."
    return s.finish("asking directions", summary, slots)


DESTINATIONS = (
    "the post office", "the railway station", "the museum", "the city library", "a pharmacy",
    "the town hall", "the football stadium", "the art gallery",
)  # fmt: skip
LANDMARKS = ("the bank", "the church", "the traffic lights", "the park", "the cinema", "the bakery")


def _weekend_trip(rng: random.Random) -> Scenario:
    s = _Script(rng)
    destination = rng.choice(
        ("the mountains", "the seaside", "Brighton", "the lake", "York", "the coast")
    )
    transport = rng.choice(("drive", "take the train", "take the bus", "rent a car"))
    day = rng.choice(("Friday evening", "Saturday morning", "Saturday afternoon"))
    stay = rng.choice(("a small cabin", "a campsite", "a cheap hotel", "a guest house", "a hostel"))
    price = rng.randrange(3, 13) * 10
    activity = rng.choice(("hiking", "swimming", "cycling", "fishing", "sightseeing"))
    item = rng.choice(
        ("the tent", "some snacks", "a map", "the camera", "sun cream", "a first-aid kit")
    )

    s.say(
        1,
        f"Are you free this weekend? I was thinking we could go to {destination}.",
        f"What about a trip to {destination} this weekend?",
    )
    s.say(2, "Great idea! How would we get there?", "I'd love that. How would we get there?")
    s.say(1, f"We could {transport} on {day}.", f"I thought we could {transport} on {day}.")
    s.say(2, "Where would we stay?", "And where would we sleep?")
    s.say(
        1, f"I found {stay} for ${price} a night.", f"There's {stay} that costs ${price} a night."
    )
    if s.maybe(0.6):
        s.say(2, "What would we do there?", "What is there to do?")
        s.say(1, f"Mostly {activity}, if the weather is good.", f"I'd like to go {activity}.")
        summary_activity = f", and go {activity}"
    else:
        summary_activity = ""
    s.say(2, f"Sounds good. I'll bring {item}.", f"Count me in. I can bring {item}.")
    if s.maybe(0.4):
        s.say(1, "Perfect, I'll book it tonight.", "Great, I'll book it then.")
    summary = (
        f"#Person1# and #Person2# plan a weekend trip to {destination}. They will {transport} on "
        f"{day}, stay at {stay}{summary_activity}; #Person2# will bring {item}."
    )
    return s.finish("planning a weekend trip", summary, [destination, transport, day, stay, item])


def _late_train(rng: random.Random) -> Scenario:
    s = _Script(rng)
    city = rng.choice((*CITIES[:8], "Manchester", "Leeds", "Glasgow", "Bristol"))
    departure = rng.choice(("8:15", "9:40", "10:05", "12:30", "5:50", "6:20"))
    delay = rng.choice(("twenty", "thirty", "forty-five", "fifteen", "fifty"))
    reason = rng.choice(
        (
            "a signal failure",
            "a broken-down train ahead",
            "a staff shortage",
            "bad weather",
            "works on the line",
        )
    )
    engagement = rng.choice(
        (
            "a job interview",
            "a meeting",
            "a connecting flight",
            "my sister's wedding",
            "a doctor's appointment",
        )
    )
    option_said, option_summary = rng.choice(TRAIN_OPTIONS)

    s.say(
        1,
        f"Excuse me, is the {departure} train to {city} running late?",
        f"Hi, what's happening with the {departure} to {city}? It's not on the board.",
    )
    s.say(
        2,
        f"Yes, I'm afraid it's delayed by {delay} minutes because of {reason}.",
        f"It's running {delay} minutes late. There's {reason}.",
    )
    s.say(
        1,
        f"Oh no, I have {engagement} this afternoon.",
        f"That's bad news. I've got {engagement} and I can't be late.",
    )
    s.say(2, f"{option_said}", f"If you're in a hurry, {option_said[0].lower()}{option_said[1:]}")
    if s.maybe(0.5):
        s.say(1, "Do I need a new ticket for that?", "Is my ticket still valid?")
        s.say(2, "No, your ticket is valid.", "Your ticket is fine, don't worry.")
    s.say(1, "OK, thanks for your help.", "Thank you, I'll do that.")
    summary = rng.choice(
        (
            f"#Person1#'s {departure} train to {city} is delayed by {delay} minutes because of "
            f"{reason}. #Person1# has {engagement}, so #Person2# suggests {option_summary}.",
            f"The train to {city} is {delay} minutes late due to {reason}. #Person2# tells "
            f"#Person1#, who has {engagement}, about {option_summary}.",
        )
    )
    return s.finish("a late train", summary, [city, delay, reason, engagement])


TRAIN_OPTIONS = (
    ("You could take the replacement bus from the front of the station.", "the replacement bus"),
    ("There's a fast train from platform four in ten minutes.", "a fast train from platform four"),
    ("You can take a taxi and claim the cost back online.", "a taxi and claiming the cost back"),
    ("You can get a refund at the ticket office.", "a refund at the ticket office"),
)


def _hotel_check_in(rng: random.Random) -> Scenario:
    s = _Script(rng)
    hotel = rng.choice(HOTELS)
    surname = rng.choice(SURNAMES)
    nights = rng.choice(NUMBER_WORDS[:5])
    room = rng.choice(("double", "single", "twin", "family"))
    number = f"{rng.randrange(1, 7)}{rng.randrange(0, 3)}{rng.randrange(1, 10)}"
    breakfast = rng.choice(("6:30", "7:00", "7:30"))
    not_ready = s.maybe(0.35)
    ready_time = rng.choice(("1 pm", "2 pm", "3 pm"))

    s.say(2, f"Good evening, welcome to {hotel}.", f"Hello and welcome to {hotel}. Checking in?")
    s.say(
        1,
        f"Hi, I have a reservation under {surname} for {nights} nights.",
        f"Yes, the booking is under {surname}. {nights.capitalize()} nights.",
    )
    s.say(
        2,
        f"Yes, I have it here, a {room} room. Could I see your passport, please?",
        f"Let me see... a {room} room for {nights} nights. May I see some ID?",
    )
    s.say(1, "Here you are.", "Sure, here it is.")
    if not_ready:
        s.say(2, f"I'm afraid room {number} won't be ready until {ready_time}.")
        s.say(1, "Oh. Can I leave my bags here?")
        s.say(2, "Of course, we'll keep them behind the desk.")
        summary = (
            f"#Person1# checks in at {hotel} for {nights} nights under the name {surname}, but "
            f"#Person2# says room {number} will not be ready until {ready_time}."
        )
        slots = [hotel, nights, surname, number, ready_time]
    else:
        s.say(
            2,
            f"You're in room {number}. Breakfast is served from {breakfast}.",
            f"Here's your key for room {number}. Breakfast starts at {breakfast}.",
        )
        if s.maybe(0.5):
            s.say(1, "Is there Wi-Fi in the room?", "Is the Wi-Fi free?")
            s.say(2, "Yes, the password is on the key card.", "Yes, it's free for all guests.")
        summary = (
            f"#Person1# checks in at {hotel} for {nights} nights under the name {surname}. "
            f"#Person2# gives #Person1# a {room} room, number {number}, and says breakfast is "
            f"from {breakfast}."
        )
        slots = [hotel, nights, surname, room, number, breakfast]
    s.say(1, "Thank you very much.", "Great, thanks.")
    return s.finish("hotel check-in", summary, slots)


def _car_repair(rng: random.Random) -> Scenario:
    s = _Script(rng)
    car = rng.choice(("car", "van", "old Ford", "Toyota", "motorbike"))
    problem, diagnoses = rng.choice(CAR_PROBLEMS)
    since = rng.choice(("yesterday", "last week", "a few days ago", "this morning"))
    diagnosis = rng.choice(diagnoses)
    cost = rng.randrange(4, 60) * 10
    day = rng.choice(DAYS[:6])
    part = rng.choice(("morning", "afternoon", "evening"))

    s.say(
        1,
        f"Hi, my {car} is making {problem}.",
        f"Good morning. My {car} has been making {problem}.",
    )
    s.say(2, "When did it start?", "I see. How long has that been going on?")
    s.say(1, f"Since {since}.", f"It started {since}.")
    if s.maybe(0.5):
        s.say(2, "Let me have a quick look.", "Open the bonnet and I'll take a look.")
        s.say(1, "Sure, go ahead.", "Of course.")
    s.say(
        2,
        f"It looks like {diagnosis}. That will cost about ${cost}.",
        f"I think it's {diagnosis}. About ${cost}.",
    )
    s.say(1, "When will it be ready?", "OK. How long will it take?")
    s.say(2, f"By {day} {part}.", f"You can pick it up on {day} {part}.")
    summary = (
        f"#Person1#'s {car} is making {problem}. #Person2# finds {diagnosis}, which will cost "
        f"about ${cost}, and the {car} will be ready on {day} {part}."
    )
    return s.finish("car repair", summary, [car, problem, diagnosis, str(cost), day])


CAR_PROBLEMS = (
    ("a squeaking sound when braking", ("worn brake pads", "a stuck brake calliper")),
    ("a rattling noise", ("a loose exhaust pipe", "a loose heat shield")),
    ("a strange whining noise", ("a worn fan belt", "a tired water pump")),
    ("a clicking noise when turning", ("a worn drive shaft joint",)),
    ("a hissing noise", ("a leaking hose", "a cracked radiator hose")),
)

FAMILIES: dict[str, Callable[[random.Random], Scenario]] = {
    "returning an item": _returning_item,
    "booking a table": _booking_table,
    "doctor's appointment": _doctors_appointment,
    "job interview": _job_interview,
    "lost luggage": _lost_luggage,
    "flat viewing": _flat_viewing,
    "bank card blocked": _bank_card_blocked,
    "asking directions": _asking_directions,
    "planning a weekend trip": _weekend_trip,
    "a late train": _late_train,
    "hotel check-in": _hotel_check_in,
    "car repair": _car_repair,
}
"""Scenario families by topic name."""


def scenarios(n: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED) -> list[Scenario]:
    """Generate ``n`` scenarios, with their slots, deterministically from ``seed``.

    Families are dealt in shuffled rounds so every family appears once per round, and
    each row has its own generator, so the first rows do not depend on ``n``.
    """
    order_rng = random.Random(seed)
    names = list(FAMILIES)
    order: list[str] = []
    while len(order) < n:
        round_ = names[:]
        order_rng.shuffle(round_)
        order.extend(round_)
    result = []
    for index, topic in enumerate(order[:n]):
        scenario = FAMILIES[topic](random.Random(seed * 1_000_003 + index))
        if not MIN_TURNS <= len(scenario.turns) <= MAX_TURNS:
            raise AssertionError(f"{topic} produced {len(scenario.turns)} turns")
        result.append(scenario)
    return result


def generate(n: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED) -> list[dict]:
    """Generate ``n`` dataset rows deterministically from ``seed``.

    Returns:
        Rows ``{"id", "topic", "dialogue", "summary"}`` with ids ``dlg-0001`` onwards.
    """
    return [
        {
            "id": f"dlg-{index:04d}",
            "topic": scenario.topic,
            "dialogue": scenario.dialogue,
            "summary": scenario.summary,
        }
        for index, scenario in enumerate(scenarios(n, seed), start=1)
    ]


def to_jsonl(rows: list[dict]) -> str:
    """Serialise rows as JSON Lines with a stable key order and a final newline."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write(path: Path = OUTPUT_PATH, n: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED) -> Path:
    """Write the dataset to ``path`` (UTF-8, ``\\n`` line endings) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(to_jsonl(generate(n, seed)))
    return path


def load(path: Path = OUTPUT_PATH) -> list[dict]:
    """Read the bundled dataset (or another JSON Lines file of the same shape)."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m tools.synthetic [PATH]`` rewrites the bundled dataset."""
    args = list(sys.argv[1:] if argv is None else argv)
    path = write(Path(args[0])) if args else write()
    print(f"wrote {DEFAULT_SIZE} rows to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
