"""Deterministic demo data for the sandbox marketplace: 25 shops, 600 listings.

In the 24 themed shops most listings are clean; about one in five breaks a policy of the pack
in a realistic way (replica watches, switchblades, prescription drugs without prescription,
recalled sleepers, ivory, scam-priced phones…). The 25th, a warehouse clearance shop, holds 360
clean listings to try bulk takedowns on. Ids are stable: `listing:L-0001` … `listing:L-0600`,
`shop:S-01` … `shop:S-25`, `seller:U-01` … `seller:U-25`.
"""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from typing import Any

SHOP_THEMES = [
    ("Ceramics", "homeware"), ("Vintage Watches", "watches"), ("Outdoor Gear", "sports"),
    ("Phone Deals", "electronics"), ("Kids Corner", "baby"), ("Curios & Antiques", "antiques"),
    ("Wellness Shop", "health"), ("Fashion Finds", "fashion"), ("Gamer Hub", "electronics"),
    ("Knife & Tool", "tools"), ("Book Nook", "books"), ("Art Prints", "art"),
    ("Garden Goods", "garden"), ("Sneaker Vault", "fashion"), ("Retro Militaria", "antiques"),
    ("Pet Supplies", "pets"), ("Leather Works", "fashion"), ("Home Office", "electronics"),
    ("Bike Parts", "sports"), ("Party Store", "toys"), ("Audio Lab", "electronics"),
    ("Jewel Box", "jewellery"), ("Craft Supplies", "crafts"), ("Night Market", "misc"),
]

CLEAN = {
    "homeware": [("Hand-thrown stoneware mug", 24.0), ("Linen table runner", 32.0),
                 ("Oak serving board", 45.0)],
    "watches": [("Seiko 5 automatic, 2019, serviced", 180.0), ("Leather watch strap 20mm", 29.0)],
    "sports": [("Two-person dome tent", 119.0), ("Trekking poles, carbon", 69.0)],
    "electronics": [("USB-C charger 65W", 39.0), ("Refurbished iPhone 13, 128GB", 429.0),
                    ("Mechanical keyboard, brown switches", 89.0)],
    "baby": [("Organic cotton baby blanket", 35.0), ("Wooden stacking rings", 19.0)],
    "antiques": [("Victorian brass candlestick", 75.0), ("1960s travel poster", 140.0)],
    "health": [("Vitamin D3 drops", 12.0), ("Bamboo toothbrush, 4-pack", 9.0)],
    "fashion": [("Wool scarf, grey", 39.0), ("Nike Air Max 90, worn twice", 95.0)],
    "tools": [("Chef's knife, 20 cm", 79.0), ("Pocket multitool", 49.0)],
    "books": [("First edition cookbook, 1972", 60.0), ("Paperback crime novel bundle", 15.0)],
    "art": [("A3 botanical print", 25.0), ("Original watercolour, harbour", 210.0)],
    "garden": [("Terracotta planter set", 42.0), ("Heirloom tomato seeds", 4.5)],
    "pets": [("Cat scratching post", 34.0), ("Dog harness, medium", 27.0)],
    "toys": [("Birthday balloon set", 11.0), ("Wooden train set", 58.0)],
    "jewellery": [("Silver hoop earrings", 48.0), ("Freshwater pearl necklace", 120.0)],
    "crafts": [("Merino yarn, 5 skeins", 38.0), ("Watercolour paper pad", 16.0)],
    "misc": [("Mystery box, stationery", 20.0), ("Enamel pin set", 14.0)],
}

# (title, description, category, price, image hashes) — each breaks one policy of the pack.
VIOLATIONS: list[tuple[str, str, str, float, list[str]]] = [
    ("Rolex Submariner replica, AAA quality", "1:1 copy, looks real", "watches", 149.0, []),
    ("Gucci belt dupe", "unbranded dupe of the classic belt", "fashion", 25.0, []),
    ("Louis Vuitton Neverfull bag", "brand new, price firm", "fashion", 89.0, ["a3f1c9e2b7d04e18"]),
    ("Chanel No 5 perfume", "100ml, replica", "health", 19.0, []),
    ("Automatic switchblade knife", "spring assisted, 9 cm blade", "tools", 35.0, []),
    ("Brass knuckles, heavy", "collector's item", "antiques", 22.0, []),
    ("3D printed gun receiver kit", "files included", "tools", 60.0, []),
    ("Tramadol 50mg, no prescription", "fast shipping", "health", 45.0, []),
    ("Oxycodone tablets", "without prescription, discreet", "pharmacy", 120.0, []),
    ("Infant inclined sleeper", "recalled model, still works fine", "baby", 40.0, []),
    ("Crib bumper set", "padded, matching sheets", "baby", 30.0, []),
    ("Carved ivory figurine", "antique, 19th century", "antiques", 850.0, []),
    ("Tortoiseshell hair comb", "vintage", "jewellery", 65.0, []),
    ("Pangolin scale medicine", "traditional remedy", "health", 90.0, []),
    ("Explicit uncensored photo book", "nsfw", "books", 30.0, []),
    ("SS Totenkopf ring", "WW2 swastika memorabilia", "antiques", 110.0, []),
    ("iPhone 16 Pro Max, sealed", "wire transfer only", "electronics", 199.0, []),
    ("PlayStation 5 bundle, new", "pay outside the platform", "electronics", 79.0, []),
    ("MacBook Pro M4, new in box", "western union accepted", "electronics", 300.0, []),
    ("Nike Air Jordan replica", "aaa quality", "fashion", 40.0, ["5be0d2c47a9f1e36"]),
    ("Stun gun flashlight", "self defence", "sports", 29.0, []),
    ("Magnetic balls desk toy", "recalled set of 216", "toys", 15.0, []),
    ("Shark fin, dried", "premium grade", "misc", 150.0, []),
    ("RTX 5090 graphics card", "sealed, wire transfer only", "electronics", 250.0, []),
]


def generate(seed: int = 42) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                      list[dict[str, Any]]]:
    rng = random.Random(seed)
    sellers, shops, listings = [], [], []
    start = date(2026, 1, 5)
    violations = itertools.cycle(VIOLATIONS)
    n = 0
    for i, (theme, category) in enumerate(SHOP_THEMES, start=1):
        sid, uid = f"S-{i:02d}", f"U-{i:02d}"
        sellers.append({
            "id": uid, "name": f"{theme} Seller", "email": f"seller{i:02d}@sandbox.example",
            "is_trader": int(i % 5 != 0), "prior_violations": 3 if i in (15, 24) else 0,
            "status": "active", "created_on": (start - timedelta(days=300 + i)).isoformat(),
        })
        shops.append({
            "id": sid, "seller_id": uid, "name": theme, "status": "active",
            "description": f"{theme}: independent shop selling {category}",
            "created_on": (start - timedelta(days=200 + i)).isoformat(),
        })
        for _ in range(10):
            n += 1
            created = (start + timedelta(days=rng.randrange(0, 300))).isoformat()
            if rng.random() < 0.2:
                title, desc, cat, price, hashes = next(violations)
            else:
                title, price = rng.choice(CLEAN[category])
                desc, cat, hashes = f"{title}. Ships in 2-3 days.", category, []
                price = round(price * rng.uniform(0.9, 1.1), 2)
            listings.append({
                "id": f"L-{n:04d}", "shop_id": sid, "title": title, "description": desc,
                "category": cat, "price": price, "status": "active", "flags": [],
                "image_hashes": hashes or [f"{rng.getrandbits(64):016x}"],
                "created_on": created,
            })
    _clearance(rng, start, sellers, shops, listings)
    return sellers, shops, listings


CLEARANCE = 360


def _clearance(rng: random.Random, start: date, sellers: list[dict[str, Any]],
               shops: list[dict[str, Any]], listings: list[dict[str, Any]]) -> None:
    """The warehouse clearance shop: many clean listings of every category."""
    sellers.append({"id": "U-25", "name": "Clearance Seller", "email": "seller25@sandbox.example",
                    "is_trader": 1, "prior_violations": 0, "status": "active",
                    "created_on": (start - timedelta(days=400)).isoformat()})
    shops.append({"id": "S-25", "seller_id": "U-25", "name": "Warehouse Clearance",
                  "status": "active", "description": "Warehouse Clearance: end-of-line stock",
                  "created_on": (start - timedelta(days=390)).isoformat()})
    goods = [item for items in CLEAN.values() for item in items]
    first = len(listings)
    for n in range(first + 1, first + CLEARANCE + 1):
        title, price = goods[n % len(goods)]
        listings.append({
            "id": f"L-{n:04d}", "shop_id": "S-25", "title": f"{title} (clearance lot {n})",
            "description": f"{title}. End-of-line stock.", "category": "misc",
            "price": round(price * 0.7, 2), "status": "active", "flags": [],
            "image_hashes": [f"{rng.getrandbits(64):016x}"],
            "created_on": (start + timedelta(days=n % 300)).isoformat(),
        })
