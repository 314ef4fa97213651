"""The kinds of service each type of support offers in the demo market: titles, descriptions,
units, price ranges and usual hours, from which each provider's listings are drawn."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceTemplate:
    title: str
    description: str
    unit: str
    price_range: tuple[int, int]  # pence, inclusive
    hours: str  # key into HOURS
    min_units: int = 1


# Weekly patterns: (weekdays, opens, closes)
HOURS = {
    "daily_long": (range(7), "07:00", "22:00"),
    "weekdays_day": (range(5), "09:30", "15:30"),
    "weekdays_office": (range(5), "09:00", "17:00"),
    "daily_lunch": (range(7), "11:30", "13:30"),
    "weekdays_lunch": (range(5), "11:30", "13:30"),
    "overnight": (range(7), "20:00", "08:00"),
    "weekends_day": (range(5, 7), "10:00", "16:00"),
    "evenings": (range(5), "18:00", "21:00"),
    "daily_day": (range(7), "08:00", "20:00"),
}

CATEGORY_SERVICES: dict[str, list[ServiceTemplate]] = {
    "home-care": [
        ServiceTemplate(
            "Home care visits",
            "Help at home with washing, dressing, meals and medication, from a regular team of carers who get to know you.",
            "hour",
            (2050, 2950),
            "daily_long",
        ),
        ServiceTemplate(
            "Personal care at home",
            "Domiciliary care for getting up, going to bed, bathing and continence care, at times that suit you.",
            "hour",
            (2100, 2990),
            "daily_long",
        ),
        ServiceTemplate(
            "Short welfare calls",
            "A quick check-in visit to make sure you are safe, have eaten and taken your medicines.",
            "visit",
            (950, 1500),
            "daily_long",
        ),
        ServiceTemplate(
            "Reablement support after hospital",
            "Short-term care at home after a stay in hospital, helping you regain confidence and independence.",
            "hour",
            (2200, 2990),
            "daily_day",
        ),
        ServiceTemplate(
            "Live-in care", "A carer who lives in your home and supports you around the clock.", "week", (95000, 135000), "daily_long"
        ),
    ],
    "personal-assistants": [
        ServiceTemplate(
            "Personal assistant support",
            "A personal assistant you choose, to help with everyday tasks, getting out and about and doing the things you enjoy.",
            "hour",
            (1300, 1800),
            "daily_day",
        ),
        ServiceTemplate(
            "PA matching and payroll service",
            "We help you find, employ and pay your own personal assistant, including payroll and insurance.",
            "week",
            (1500, 3000),
            "weekdays_office",
        ),
        ServiceTemplate(
            "Personal assistant for social outings",
            "A PA to go with you to clubs, shops, appointments and events.",
            "hour",
            (1350, 1750),
            "weekends_day",
        ),
    ],
    "day-opportunities": [
        ServiceTemplate(
            "Day centre",
            "A friendly day centre with activities, a hot lunch and company. Transport can be arranged.",
            "day",
            (4500, 7500),
            "weekdays_day",
        ),
        ServiceTemplate(
            "Community day opportunities",
            "Group activities out in the community: gardening, arts, cooking and trips.",
            "day",
            (5000, 7800),
            "weekdays_day",
        ),
        ServiceTemplate(
            "Half-day activity sessions",
            "Morning or afternoon sessions of crafts, music, exercise and games.",
            "visit",
            (2200, 3800),
            "weekdays_day",
        ),
        ServiceTemplate(
            "Work skills and volunteering programme",
            "Supported volunteering and work experience to build skills and confidence.",
            "day",
            (5500, 8500),
            "weekdays_day",
        ),
    ],
    "short-breaks": [
        ServiceTemplate(
            "Overnight respite stays",
            "Short breaks with overnight care in a homely setting, giving carers a rest.",
            "night",
            (11000, 18500),
            "overnight",
        ),
        ServiceTemplate(
            "Sitting service for carers",
            "A trained sitter stays with the person you care for so you can take a break.",
            "hour",
            (1800, 2600),
            "daily_day",
        ),
        ServiceTemplate(
            "Weekend short breaks",
            "Weekend stays with activities and personal care, booked by the night.",
            "night",
            (12000, 19500),
            "overnight",
        ),
    ],
    "supported-living": [
        ServiceTemplate(
            "Supported living support hours",
            "Support in your own tenancy to manage your home, money, health and social life.",
            "hour",
            (1850, 2450),
            "daily_long",
        ),
        ServiceTemplate(
            "Shared supported living",
            "A shared house with staff on site day and night, for people who want their own tenancy with support close by.",
            "week",
            (65000, 120000),
            "daily_long",
        ),
        ServiceTemplate(
            "Floating support", "Visits to help you keep your tenancy, pay bills and stay well.", "hour", (1900, 2500), "weekdays_office"
        ),
    ],
    "meals": [
        ServiceTemplate(
            "Hot meals delivered",
            "A hot two-course lunch delivered to your door, with a friendly check on how you are.",
            "item",
            (450, 750),
            "daily_lunch",
        ),
        ServiceTemplate(
            "Frozen meals delivery",
            "A weekly delivery of frozen ready meals, including soft and special diets.",
            "item",
            (390, 620),
            "weekdays_office",
        ),
        ServiceTemplate("Luncheon club", "A sit-down lunch with company in a community hall.", "item", (500, 850), "weekdays_lunch"),
    ],
    "transport": [
        ServiceTemplate(
            "Door-to-door community transport",
            "Accessible minibus trips to shops, day centres and appointments.",
            "visit",
            (800, 2000),
            "weekdays_office",
        ),
        ServiceTemplate(
            "Accompanied hospital transport",
            "A driver who takes you to hospital appointments and waits with you.",
            "visit",
            (1800, 4500),
            "weekdays_office",
        ),
        ServiceTemplate("Dial-a-ride", "Book a wheelchair-accessible ride for local journeys.", "visit", (600, 1400), "daily_day"),
    ],
    "equipment": [
        ServiceTemplate(
            "Grab rails and minor adaptations",
            "Fitting of grab rails, bannisters and key safes by trusted tradespeople.",
            "item",
            (2500, 9500),
            "weekdays_office",
        ),
        ServiceTemplate(
            "Mobility equipment hire",
            "Hire of wheelchairs, walking frames and riser-recliner chairs.",
            "week",
            (1200, 3500),
            "weekdays_office",
        ),
        ServiceTemplate(
            "Telecare alarm and monitoring",
            "A pendant alarm connected to a 24-hour response centre.",
            "week",
            (450, 900),
            "weekdays_office",
        ),
        ServiceTemplate(
            "Bathing aids assessment and supply",
            "An assessment at home and supply of bath lifts, shower seats and toilet frames.",
            "item",
            (3500, 35000),
            "weekdays_office",
        ),
    ],
    "advocacy": [
        ServiceTemplate(
            "Independent advocacy",
            "An independent advocate to help you have your say in decisions about your care.",
            "hour",
            (2500, 4000),
            "weekdays_office",
        ),
        ServiceTemplate(
            "Support planning",
            "Help to write your support plan and decide how to use your personal budget.",
            "hour",
            (2800, 4200),
            "weekdays_office",
        ),
        ServiceTemplate(
            "Direct payments support service",
            "Help to manage a direct payment or prepaid card, employ staff and keep records.",
            "hour",
            (2600, 3800),
            "weekdays_office",
        ),
    ],
    "befriending": [
        ServiceTemplate(
            "Befriending visits",
            "A volunteer befriender visits you at home for a chat, a cuppa and company.",
            "visit",
            (500, 1500),
            "daily_day",
        ),
        ServiceTemplate(
            "Telephone befriending", "A regular friendly phone call with a trained volunteer.", "visit", (300, 800), "daily_day"
        ),
        ServiceTemplate(
            "Community activity groups",
            "Walking groups, coffee mornings, craft clubs and singing groups across the city.",
            "visit",
            (400, 1200),
            "weekends_day",
        ),
    ],
    "cleaning": [
        ServiceTemplate(
            "Cleaning and domestic help", "Regular cleaning, laundry and ironing by vetted staff.", "hour", (1500, 2200), "daily_day"
        ),
        ServiceTemplate(
            "Shopping and errands",
            "We do your shopping or go with you, and help with errands and prescriptions.",
            "hour",
            (1550, 2100),
            "weekdays_office",
        ),
        ServiceTemplate(
            "Gardening and handy help",
            "Lawn mowing, hedge trimming and small jobs around the home.",
            "hour",
            (1800, 2500),
            "weekdays_office",
        ),
    ],
    "dementia-support": [
        ServiceTemplate(
            "Dementia day club",
            "A specialist day club for people living with dementia, with meaningful activities and lunch.",
            "day",
            (5500, 8500),
            "weekdays_day",
        ),
        ServiceTemplate(
            "Dementia sitting service",
            "A trained dementia carer stays with your relative at home while you go out.",
            "hour",
            (1900, 2700),
            "daily_day",
        ),
        ServiceTemplate(
            "Memory café", "A relaxed café for people with memory problems and their carers.", "visit", (300, 900), "weekends_day"
        ),
        ServiceTemplate(
            "Dementia home support",
            "Home care from carers trained in dementia, with consistent faces and routines.",
            "hour",
            (2200, 3000),
            "daily_long",
        ),
    ],
    "carers-support": [
        ServiceTemplate(
            "Carers' support group", "Meet other carers for support, information and a break.", "visit", (300, 900), "evenings"
        ),
        ServiceTemplate(
            "Carers' wellbeing sessions",
            "Massage, mindfulness and relaxation sessions for unpaid carers.",
            "visit",
            (1500, 3500),
            "weekends_day",
        ),
        ServiceTemplate(
            "Carers' emergency back-up",
            "A plan and a carer ready to step in if you are suddenly unable to care.",
            "hour",
            (2000, 2800),
            "daily_long",
        ),
    ],
}
