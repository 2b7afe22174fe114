"""Demo data: the Concarneau–Quimper industrial-symbiosis territory (Sud-Finistère), with a second,
smaller territory around Lorient.

`load()` creates, in one transaction, two territories, about thirty companies (producers, users and
solution providers) with their members, an administrator and a practitioner, about a hundred listings
in every category and status, and a few conversations. The data are the compact tables below; the
loader at the end of the module only replays them through the normal services, so the demo follows
the same rules as real use (moderation, trusted companies); the e-mails those steps queue are
discarded at the end, since nobody is behind the demo addresses.

Pseudo-random choices (dates, statuses, phone numbers, SIRET) come from `random.Random(SEED)` so
two loads give the same data; passwords are random each time.

Demo e-mail addresses use the reserved `.example` top-level domain: `.localhost` addresses are
refused by the e-mail validator of the log-in form, `.example` ones are accepted and never routed.
"""
from __future__ import annotations

import random
import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from stdnum import luhn
from stdnum.fr import siret

from marketplace import reference
from marketplace.accounts.models import Company, Territory
from marketplace.accounts.services import create_user, find_user
from marketplace.companies.services import add_site, create_company
from marketplace.conversations.services import reply, respond
from marketplace.extensions import db
from marketplace.listings import services
from marketplace.jobs import enqueue_after_commit, forget_after_commit
from marketplace.listings.models import Listing, ListingEvent
from marketplace.matching.tasks import match_listing
from marketplace.search.tasks import apply_index_tasks
from marketplace.models_base import utcnow
from marketplace.notifications.models import OutgoingEmail
from marketplace.territories.services import (
    assign_practitioner,
    save_territory,
    set_trusted,
)

SEED = 29900
DEMO_DOMAIN = "demo.eit.example"
ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"
PRACTITIONER_EMAIL = f"animatrice@{DEMO_DOMAIN}"

# --- territories -------------------------------------------------------------------------------

CONCARNEAU = "Concarneau Cornouaille"
LORIENT = "Pays de Lorient"

CONCARNEAU_POSTCODES = (
    "29900 29000 29910 29140 29170 29120 29300 29930 29950 29500 29700 29510 29710 29940 29180 "
    "29390 29380 29340 29350 29360 29370 29750 29740 29730 29760 29720"
)
CONCARNEAU_DESCRIPTION = (
    "Sud-Finistère, de Quimper à Quimperlé et du pays Bigouden à l'Aven : ateliers de détection de "
    "synergies, enchères de ressources (format Concarneau) et suivi des échanges entre entreprises."
)
LORIENT_DESCRIPTION = (
    "Entreprises situées à moins de 25 km de Lorient : port de pêche, zones d'activité de Lanester, "
    "Hennebont et Quéven."
)

# --- companies -------------------------------------------------------------------------------
# key (also the e-mail sub-domain), name, NAF, contact person, main site (postcode, commune, site name,
# address), description, solution provider (categories, waste codes, operations) or None,
# second site (name, postcode, commune, address) or None.

COMPANIES = (
    ("conserverie-armor", "Conserverie Ar Mor", "10.20Z", "Gwenaëlle Le Bihan",
     ("29900", "Concarneau", "Usine du Moros", "ZA du Moros, rue des Conserveurs"),
     "Conserves de thon, sardines et maquereaux, 120 salariés. Cuisson, autoclaves, sertissage.", None, None),
    ("maree-cornouaille", "Marée de Cornouaille", "46.38A", "Yannick Le Goff",
     ("29900", "Concarneau", "Atelier de mareyage", "Quai Carnot, zone portuaire"),
     "Mareyeur : achat sous criée, filetage et expédition de poisson frais vers la France entière.", None,
     ("Atelier du Guilvinec", "29730", "Guilvinec", "Port de pêche, terre-plein de la criée")),
    ("conserverie-bigoudene", "Conserverie Bigoudène", "10.20Z", "Soizic Tanguy",
     ("29120", "Pont-l'Abbé", "Usine", "ZA de Kerganet"),
     "Conserverie artisanale : maquereaux, rillettes de la mer et soupes de poisson.", None, None),
    ("chantiers-moros", "Chantiers navals du Moros", "30.11Z", "Ronan Cadiou",
     ("29900", "Concarneau", "Chantier", "Terre-plein du port, quai des Seychelles"),
     "Construction et réparation de navires de pêche et de servitude en acier et aluminium, 80 salariés.",
     None, None),
    ("atelier-nautique-aven", "Atelier nautique de l'Aven", "30.12Z", "Katell Riou",
     ("29930", "Pont-Aven", "Atelier", "Zone de Kerambourg"),
     "Construction et rénovation de voiliers en composite (polyester, verre, bois moulé).", None, None),
    ("brasserie-odet", "Brasserie de l'Odet", "11.05Z", "Tristan Morvan",
     ("29000", "Quimper", "Brasserie", "ZA de l'Hippodrome, allée des Brasseurs"),
     "Brasserie indépendante, 12 000 hl par an : bières de garde, blondes et ambrées bio.", None, None),
    ("cidrerie-fouesnant", "Cidrerie des Vergers de Fouesnant", "11.03Z", "Armelle Hénaff",
     ("29170", "Fouesnant", "Cidrerie", "Route de Kerbader"),
     "Cidre AOP Cornouaille, pommeau et jus de pomme ; 40 ha de vergers.", None, None),
    ("fournil-kerfeunteun", "Fournil de Kerfeunteun", "10.71C", "Gaël Jaouen",
     ("29000", "Quimper", "Fournil", "Route de Brest"),
     "Boulangerie artisanale, trois boutiques et livraison de la restauration collective.", None, None),
    ("biscuiterie-aven", "Biscuiterie de l'Aven", "10.72Z", "Élodie Caradec",
     ("29930", "Pont-Aven", "Biscuiterie", "Zone artisanale de Kergazuel"),
     "Galettes et palets bretons pur beurre, vente en magasin et à l'export.", None, None),
    ("scierie-ster-goz", "Scierie du Stêr Goz", "16.10A", "Youenn Le Pape",
     ("29140", "Rosporden", "Scierie", "Lieu-dit Stêr Goz"),
     "Sciage de résineux et feuillus locaux (douglas, pin maritime, chêne), séchoir et chaudière bois.",
     None, None),
    ("menuiserie-le-floch", "Menuiserie Le Floch", "16.23Z", "Loïc Le Floch",
     ("29910", "Trégunc", "Atelier", "ZA de Pen Ar Ros"),
     "Menuiseries intérieures et extérieures sur mesure, agencement de magasins.", None, None),
    ("clinique-ty-mor", "Clinique Ty Mor", "86.10Z", "Sophie Le Berre",
     ("29000", "Quimper", "Clinique", "Rue de Kerlaëron"),
     "Établissement de santé privé, 180 lits, cuisine centrale et blanchisserie sous-traitée.", None, None),
    ("blanchisserie-iroise", "Blanchisserie Iroise Linge", "96.01A", "Marine Coïc",
     ("29500", "Ergué-Gabéric", "Blanchisserie", "ZA de Lestonan"),
     "Location-entretien de linge pour hôtels, restaurants et établissements de santé : 9 t de linge par jour.",
     None, None),
    ("transports-gueguen", "Transports Guéguen", "49.41A", "Nolwenn Guéguen",
     ("29140", "Rosporden", "Siège et dépôt", "ZA de Kerampaou"),
     "Transport routier de marchandises sous température dirigée et en bâché, 45 véhicules.", None,
     ("Agence de Lanester", "56600", "Lanester", "ZI de Kerpont")),
    ("kerplast-moulage", "Kerplast Moulage", "22.29A", "Jean-Marc Le Moal",
     ("29300", "Quimperlé", "Usine", "ZI de Kervidanou"),
     "Injection de pièces techniques en polypropylène et polyamide pour l'agroalimentaire et le nautisme.",
     None, None),
    ("imprimerie-cornouaille", "Imprimerie Cornouaille Graphic", "18.12Z", "Brieuc Salaün",
     ("29000", "Quimper", "Imprimerie", "ZI de l'Hippodrome, rue Jacques Anquetil"),
     "Impression offset et numérique : étiquettes, brochures, emballages carton.", None, None),
    ("coop-aven", "Coopérative agricole de l'Aven", "46.21Z", "Hélène Le Dréau",
     ("29380", "Bannalec", "Siège et magasin", "Route de Scaër"),
     "Coopérative de 600 adhérents éleveurs : collecte de céréales, aliments du bétail, agrofournitures.",
     None, ("Silo d'Elliant", "29370", "Elliant", "Zone de Kerampensal")),
    ("serres-kerambars", "Serres de Kerambars", "01.13Z", "Fañch Cariou",
     ("29170", "Saint-Évarzec", "Serres", "Lieu-dit Kerambars"),
     "Maraîchage sous serres chauffées : tomates et concombres, 4 ha de verre.", None, None),
    ("jardins-cornouaille", "Jardins de Cornouaille", "81.30Z", "Lénaïg Perennou",
     ("29700", "Pluguffan", "Dépôt", "ZA de Ti Lipig"),
     "Création et entretien d'espaces verts pour entreprises et collectivités, 25 jardiniers.", None, None),
    ("methagri-cornouaille", "Méthagri Cornouaille", "35.21Z", "Thierry Le Cam",
     ("29710", "Plonéis", "Unité de méthanisation", "Lieu-dit Kervao"),
     "Méthanisation agricole collective (12 exploitations), injection de biométhane et cogénération.",
     ("materials energy",
      "02 01 03, 02 01 06, 02 02 02, 02 02 03, 02 02 04, 02 03 04, 02 05 01, 02 06 01, 02 07 01, 02 07 04, "
      "19 08 09, 20 01 08, 20 01 25, 20 02 01",
      "R3 R13"), None),
    ("cornouaille-recyclage", "Cornouaille Recyclage", "38.32Z", "Aurélie Bothorel",
     ("29000", "Quimper", "Centre de tri", "ZI de Kernevez"),
     "Collecte et tri des déchets d'entreprises : cartons, films, plastiques, bois, métaux.",
     ("materials equipment services",
      "02 01 04, 07 02 13, 12 01 01, 12 01 03, 15 01 01, 15 01 02, 15 01 04, 15 01 06, 17 04 05, 17 04 07, "
      "17 08 02, 20 01 01, 20 01 39, 20 01 40",
      "R3 R4 R12 R13"), ("Plateforme de Quimperlé", "29300", "Quimperlé", "ZA de Kerfleury")),
    ("armor-collecte-speciale", "Armor Collecte Spéciale", "38.12Z", "Goulven Prigent",
     ("56600", "Lanester", "Centre de regroupement", "ZI de Kerpont, rue Gay-Lussac"),
     "Collecte et regroupement des déchets dangereux : huiles, solvants, batteries, emballages souillés.",
     ("materials services",
      "08 01 11, 12 01 09, 13 02 05, 13 02 08, 14 06 03, 15 01 10, 15 02 02, 16 01 07, 16 06 01",
      "R2 R9 R12 R13 D13 D15"), None),
    ("bois-energie-sud", "Bois Énergie Finistère Sud", "38.32Z", "Sandrine Le Meur",
     ("29390", "Scaër", "Plateforme bois", "ZA de Ty Nevez"),
     "Préparation de combustibles bois (plaquettes, broyats de palettes) pour chaufferies collectives.",
     ("materials energy", "02 01 07, 03 01 01, 03 01 05, 15 01 03, 17 02 01, 19 12 07, 20 01 38",
      "R1 R3 R12 R13"), None),
    ("compost-cornouaille", "Compost Cornouaille", "38.21Z", "Julien Quiniou",
     ("29510", "Briec", "Plateforme de compostage", "Lieu-dit Kerlaz"),
     "Plateforme de compostage de déchets verts et biodéchets, compost normé NF U 44-051.",
     ("materials", "02 01 03, 02 03 04, 03 01 01, 10 01 03, 19 06 06, 20 01 08, 20 02 01", "R3 R13"), None),
    ("ressourcerie-ti-recup", "Ressourcerie Ti Récup", "38.32Z", "Isabelle Kervella",
     ("29900", "Concarneau", "Ressourcerie", "Rue de Kerauret"),
     "Entreprise d'insertion : réemploi de mobilier, textiles et matériaux, fabrication de chiffons "
     "d'essuyage.",
     ("materials equipment", "04 02 22, 15 01 09, 20 01 10, 20 01 11, 20 01 38", "R3 R13"), None),
    ("valorisation-marine", "Valorisation Marine Cornouaille", "10.20Z", "Corentin Le Scao",
     ("29910", "Trégunc", "Usine", "ZA de Kerouannec"),
     "Transformation des coproduits de la mer en farines, huiles et hydrolysats protéiques.",
     ("materials", "02 02 01, 02 02 02, 02 02 03", "R3 R13"), None),
    ("laiterie-isole", "Laiterie de l'Isole", "10.51A", "Maïwenn Cloarec",
     ("29390", "Scaër", "Laiterie", "Route de Coray"),
     "Laiterie coopérative : lait frais, yaourts, fromages blancs et beurre de baratte.", None, None),
    ("metallerie-le-corre", "Métallerie Le Corre", "25.11Z", "Mikaël Le Corre",
     ("29500", "Ergué-Gabéric", "Atelier", "ZA du Rouillen"),
     "Charpente métallique, serrurerie et escaliers pour le bâtiment et l'industrie.", None, None),
    ("garage-kerhuel", "Garage Poids Lourds Kerhuel", "45.20B", "Pierre-Yves Kerhuel",
     ("29000", "Quimper", "Atelier poids lourds", "Route de Rosporden"),
     "Entretien et réparation de poids lourds, cars et engins agricoles.", None, None),
    ("hotel-ker-avel", "Hôtel-restaurant Ker Avel", "55.10Z", "Morgane Le Roux",
     ("29950", "Bénodet", "Hôtel", "Corniche de la Mer"),
     "Hôtel de 60 chambres avec restaurant et salles de séminaire, ouvert toute l'année.", None, None),
    ("cornouaille-formation", "Cornouaille Formation Sécurité", "85.59A", "Frédéric Guillou",
     ("29000", "Quimper", "Centre de formation", "Parc d'activités de Creac'h Gwen"),
     "Formations sécurité : CACES, habilitations électriques, SST, incendie, travail en hauteur.", None, None),
    ("ge-cornouaille", "Groupement d'employeurs Cornouaille", "78.30Z", "Typhaine Le Naour",
     ("29900", "Concarneau", "Bureaux", "Rue du Port, Maison des entreprises"),
     "Groupement d'employeurs : salariés partagés entre plusieurs PME (RH, QSE, maintenance, logistique).",
     None, None),
    ("armement-lorientais", "Armement Lorientais", "03.11Z", "Anne Quéré",
     ("56100", "Lorient", "Base armement", "Port de pêche de Keroman"),
     "Armement de 8 chalutiers hauturiers et côtiers basés à Lorient.", None, None),
)

# Companies whose listings are published without prior approval in the Concarneau territory.
TRUSTED = ("conserverie-armor", "chantiers-moros", "brasserie-odet", "methagri-cornouaille", "cornouaille-recyclage")
# A few companies show a SIRET (generated, valid check digits) and a website.
WITH_SIRET = ("conserverie-armor", "chantiers-moros", "brasserie-odet", "kerplast-moulage", "coop-aven",
              "cornouaille-recyclage", "methagri-cornouaille", "clinique-ty-mor", "transports-gueguen")
WITH_WEBSITE = ("conserverie-armor", "brasserie-odet", "cidrerie-fouesnant", "cornouaille-recyclage",
                "cornouaille-formation", "ge-cornouaille", "hotel-ker-avel")

# --- listings ----------------------------------------------------------------------------------
# company key ("key@1" = its second site), kind, category, title, quantity, unit, frequency,
# price ("free", "nego" or a signed unit price in euros), waste code, description,
# optional (available_from, available_until, expires_on) in days from today (None = not set).

LISTINGS = (
    # Conserverie Ar Mor
    ("conserverie-armor", "offer", "materials", "Têtes et arêtes de thon et de sardine", "8", "t", "weekly", "25",
     "02 02 02", "Coproduits de filetage (têtes, arêtes, peaux) stockés en bacs réfrigérés à 2 °C. Sous-produits "
     "animaux de catégorie 3, enlèvement quotidien souhaité du lundi au vendredi."),
    ("conserverie-armor", "offer", "materials", "Huile de cuisson de sardines", "1200", "L", "monthly", "nego",
     "02 02 03", "Huile de précuisson filtrée, stockée en cuve de 1 m³. Convient à la méthanisation ou à la "
     "fabrication d'huiles techniques."),
    ("conserverie-armor", "offer", "materials", "Boîtes métalliques déclassées (défaut de sertissage)", "2", "t",
     "monthly", "free", "15 01 04",
     "Boîtes vides en fer-blanc, non imprimées, rebutées au contrôle. Triées, en caisses palettes."),
    ("conserverie-armor", "need", "equipment", "Recherche GRVS alimentaires d'occasion", "200", "unit", "once", "4",
     "", "GRVS de 1 m³ avec jupe de remplissage, propres et secs, pour le stockage des sels et des épices."),
    ("conserverie-armor", "offer", "water", "Eaux de cuisson et de lavage chargées en matière organique", "300",
     "m3", "weekly", "free", "", "Effluents riches en protéines et graisses, après dégrillage. Intéressant pour une "
     "unité de méthanisation proche."),
    ("conserverie-armor", "offer", "energy", "Chaleur fatale des autoclaves (eau chaude à 60 °C)", "400", "MWh",
     "yearly", "nego", "", "Eaux de refroidissement des autoclaves, disponibles en continu de 6 h à 22 h en "
     "semaine. Idéal pour serres, séchage ou préchauffage."),
    ("conserverie-armor", "offer", "skills", "Expertise HACCP et plan de maîtrise sanitaire", "10", "h", "monthly",
     "60", "", "Notre responsable qualité peut accompagner une TPE agroalimentaire dans la rédaction de son PMS."),
    # Marée de Cornouaille
    ("maree-cornouaille", "offer", "materials", "Caisses polystyrène (PSE) usagées", "3", "t", "monthly", "free",
     "15 01 02", "Caisses à poisson en polystyrène expansé, rincées, empilées sur palettes. Environ 1 500 caisses "
     "par mois."),
    ("maree-cornouaille@1", "offer", "materials", "Viscères et invendus de mareyage", "4", "t", "weekly", "10",
     "02 02 02", "Viscères, parures et poissons invendus, en bacs de 600 L réfrigérés. Enlèvement au Guilvinec."),
    ("maree-cornouaille", "need", "equipment", "Machine à glace écaille 2 t/jour", "1", "unit", "once", "nego", "",
     "Recherche une machine à glace écaille d'occasion, eau de mer ou eau douce, en état de marche."),
    ("maree-cornouaille", "offer", "logistics", "Camion frigorifique : retour à vide Rungis → Concarneau le vendredi",
     "33", "unit", "weekly", "15", "",
     "Semi frigorifique (0 à 4 °C) qui redescend à vide chaque vendredi. Prix par palette."),
    # Conserverie Bigoudène
    ("conserverie-bigoudene", "offer", "materials", "Cartons d'emballage propres, en balles", "1.5", "t", "monthly",
     "45", "15 01 01", "Cartons ondulés propres et secs, compactés en balles de 300 kg."),
    ("conserverie-bigoudene", "offer", "materials", "Têtes et peaux de maquereau", "3", "t", "weekly", "nego",
     "02 02 02", "Coproduits frais de maquereau, stockés au froid, de mars à octobre.", (-20, 150, 160)),
    ("conserverie-bigoudene", "need", "staff", "Cariste en temps partagé pour la saison", "3", "day", "weekly",
     "nego", "", "Cariste CACES R489 catégorie 3, trois jours par semaine de mai à octobre, à partager avec une "
     "autre entreprise."),
    ("conserverie-bigoudene", "need", "space", "Stockage sec de 300 m² pour boîtes vides", "300", "m2", "monthly",
     "3.50", "", "Local sec et propre, accessible en semi-remorque, à moins de 20 km de Pont-l'Abbé.",
     (15, 120, None)),
    # Chantiers navals du Moros
    ("chantiers-moros", "offer", "materials", "Chutes de tôle acier de construction navale", "6", "t", "monthly",
     "180", "12 01 01", "Chutes et squelettes de découpe plasma, acier S235 et S355, en bennes de 10 m³."),
    ("chantiers-moros", "offer", "materials", "Palettes et bois de calage de colis", "2", "t", "monthly", "free",
     "15 01 03", "Palettes hors standard et bois de calage non traités, à enlever sur le terre-plein."),
    ("chantiers-moros", "offer", "skills", "Soudeurs aluminium qualifiés disponibles en renfort", "35", "h",
     "monthly", "55", "", "Deux soudeurs qualifiés (MIG aluminium, TIG inox) disponibles entre deux chantiers."),
    ("chantiers-moros", "offer", "equipment", "Fenwick diesel 3,5 t peu utilisé", "1", "unit", "once", "nego", "",
     "Chariot de 2016, 4 200 heures, mât triplex, révisé. Remplacé par un modèle électrique."),
    ("chantiers-moros", "offer", "materials", "Huiles usagées de maintenance (moteur et hydraulique)", "800", "L",
     "monthly", "free", "13 02 05",
     "Huiles noires en fûts de 200 L sur rétention. Réservé aux collecteurs agréés."),
    ("chantiers-moros", "need", "services", "Collecte mutualisée des chiffons souillés et aérosols", None, None,
     "monthly", "nego", "", "Nous cherchons des entreprises voisines pour partager une tournée de collecte des "
     "déchets dangereux diffus."),
    ("chantiers-moros", "offer", "space", "Terre-plein portuaire de 800 m² disponible l'hiver", "800", "m2",
     "monthly", "2", "", "Surface bitumée en bord de quai, accès grue, disponible de novembre à mars.",
     (30, 180, None)),
    # Atelier nautique de l'Aven
    ("atelier-nautique-aven", "offer", "materials", "Chutes de tissus de verre et de composite polyester", "500",
     "kg", "monthly", "nego", "07 02 13",
     "Chutes de mat et de tissu de verre, et découpes de stratifié polyester sec."),
    ("atelier-nautique-aven", "offer", "materials", "Acétone usagée de nettoyage", "400", "L", "monthly", "-0.90",
     "14 06 03", "Acétone souillée de résine, en fûts de 200 L. Nous payons la reprise par un régénérateur agréé."),
    ("atelier-nautique-aven", "need", "skills", "Électricien marine pour un chantier de rénovation", "40", "h",
     "once", "nego", "", "Recâblage complet d'un voilier de 12 m, en avril."),
    ("atelier-nautique-aven", "offer", "materials", "Films plastiques de protection des coques", "300", "kg",
     "monthly", "free", "15 01 02", "Films en polyéthylène, propres, en sacs. Idéal pour un recycleur de plastiques."),
    # Brasserie de l'Odet
    ("brasserie-odet", "offer", "materials", "Drêches de brasserie humides", "6", "t", "weekly", "free", "02 07 04",
     "Drêches d'orge fraîches (20 % de matière sèche), disponibles le mardi et le vendredi après brassage. "
     "Idéal pour l'alimentation animale ou la méthanisation."),
    ("brasserie-odet", "offer", "materials", "Levures de bière en fin de fermentation", "800", "L", "weekly", "free",
     "02 07 04", "Levures liquides en cuve, à enlever sous 48 heures."),
    ("brasserie-odet", "need", "materials", "Bouteilles en verre 33 cl de réemploi", "5000", "unit", "monthly",
     "0.08", "", "Bouteilles standard 33 cl, lavables, pour notre gamme consignée."),
    ("brasserie-odet", "offer", "energy", "Chaleur fatale du refroidissement du moût (eau à 75 °C)", "120", "MWh",
     "yearly", "nego", "", "Eau chaude produite à chaque brassin, trois fois par semaine."),
    ("brasserie-odet", "need", "logistics", "Transport mutualisé de fûts vers Brest et Rennes", "2", "day",
     "weekly", "nego", "", "Deux tournées par semaine, 20 à 30 fûts, partage de camion bienvenu."),
    ("brasserie-odet", "offer", "materials", "Big bags de malt vides", "150", "unit", "monthly", "free", "15 01 02",
     "Big bags d'une tonne en polypropylène tissé, propres et secs, avec sangles."),
    # Cidrerie des Vergers de Fouesnant
    ("cidrerie-fouesnant", "offer", "materials", "Marc de pomme frais après pressurage", "40", "t", "once", "free",
     "02 07 04", "Marc de pomme de la campagne de pressage, d'octobre à décembre. Alimentation animale ou "
     "méthanisation.", (20, 110, 120)),
    ("cidrerie-fouesnant", "need", "equipment", "Cuves inox 5 000 L d'occasion", "3", "unit", "once", "nego", "",
     "Cuves inox alimentaires avec porte et vanne, pour la fermentation."),
    ("cidrerie-fouesnant", "offer", "materials", "Bouteilles 75 cl déclassées (défaut d'étiquetage)", "2000", "unit",
     "once", "0.10", "15 01 07", "Bouteilles neuves en verre brun, défaut d'impression sur l'étiquette."),
    ("cidrerie-fouesnant", "need", "staff", "Main-d'œuvre partagée pour la récolte des pommes", "60", "day", "once",
     "nego", "", "Ramassage et tri des pommes de septembre à novembre.", (40, 120, 125)),
    ("cidrerie-fouesnant", "need", "equipment", "Recherche chariot élévateur d'occasion", "1", "unit", "once", "nego",
     "", "Chariot élévateur 2 à 3,5 t pour le chai, diesel ou électrique."),
    # Fournil de Kerfeunteun
    ("fournil-kerfeunteun", "offer", "materials", "Invendus de pain et de viennoiseries", "80", "kg", "daily", "free",
     "02 06 01", "Pain de la veille et viennoiseries, en caisses. Pour l'alimentation animale, la méthanisation ou "
     "le brassage."),
    ("fournil-kerfeunteun", "need", "services", "Achat groupé d'électricité entre artisans", None, None, "yearly",
     "nego", "", "Nous cherchons d'autres TPE pour négocier ensemble un contrat de fourniture d'électricité."),
    # Biscuiterie de l'Aven
    ("biscuiterie-aven", "offer", "materials", "Brisures de galettes et de palets bretons", "1.5", "t", "weekly",
     "60", "02 06 01", "Brisures pur beurre, en sacs de 25 kg. Alimentation animale ou ingrédient pour glaciers et "
     "pâtissiers."),
    ("biscuiterie-aven", "need", "space", "Entrepôt sec de 500 m² pour le stock de Noël", "500", "m2", "once", "4",
     "", "Entrepôt sec et propre, d'octobre à décembre, quais de chargement si possible.", (45, 135, 60)),
    # Scierie du Stêr Goz
    ("scierie-ster-goz", "offer", "materials", "Sciure de bois sec (résineux non traité)", "20", "m3", "weekly", "8",
     "03 01 05", "Sciure de douglas et pin maritime, non traitée. Litière, paillage ou combustible."),
    ("scierie-ster-goz", "offer", "materials", "Écorces de pin et de douglas", "30", "t", "monthly", "15", "03 01 01",
     "Écorces broyées, calibre 10-40 mm, idéales pour le paillage."),
    ("scierie-ster-goz", "offer", "energy", "Plaquettes de bois issues des connexes de scierie", "100", "t",
     "monthly", "70", "", "Plaquettes calibrées, humidité 35 %, livrables en fond mouvant."),
    ("scierie-ster-goz", "offer", "materials", "Cendres de bois de chaudière", "3", "t", "monthly", "free",
     "10 01 03", "Cendres sèches de chaudière biomasse (bois non traité). Riches en calcium et potasse."),
    # Menuiserie Le Floch
    ("menuiserie-le-floch", "offer", "materials", "Chutes de bois massif (chêne, châtaignier)", "2", "t", "monthly",
     "free", "03 01 05", "Chutes de 20 à 80 cm, bois sec non traité. Pour artisans, ressourceries ou bois de "
     "chauffage."),
    ("menuiserie-le-floch", "offer", "equipment", "Scie à panneaux verticale", "1", "unit", "once", "2500", "",
     "Scie à panneaux verticale, bon état, capacité 4 200 × 2 100 mm. Démontage par l'acheteur."),
    ("menuiserie-le-floch", "need", "materials", "Palettes bois 80×120 réemployables", "150", "unit", "monthly", "3",
     "", "Palettes Europe ou perdues en bon état, pour nos expéditions."),
    ("menuiserie-le-floch", "offer", "materials", "Chutes de placo neuves (BA13)", "1", "t", "monthly", "free",
     "17 08 02", "Chutes propres de plaques de plâtre issues de nos chantiers d'agencement."),
    # Clinique Ty Mor
    ("clinique-ty-mor", "offer", "materials", "Cartons d'emballage de fournitures", "800", "kg", "weekly", "free",
     "15 01 01", "Cartons pliés en cage, non souillés, issus de la logistique."),
    ("clinique-ty-mor", "offer", "materials", "Biodéchets de la cuisine centrale", "2.5", "t", "weekly", "free",
     "20 01 08", "Restes de préparation et de repas, triés en bacs de 240 L."),
    ("clinique-ty-mor", "need", "services", "Formation incendie mutualisée avec des entreprises voisines", "12",
     "day", "yearly", "nego", "", "Nous cherchons des partenaires pour remplir des sessions d'équipier de première "
     "intervention."),
    ("clinique-ty-mor", "offer", "equipment", "Lits médicalisés et mobilier réformés", "25", "unit", "once", "free",
     "", "Lits électriques, tables de chevet et fauteuils réformés lors de la rénovation d'un service.",
     (0, 45, 50)),
    # Blanchisserie Iroise Linge
    ("blanchisserie-iroise", "offer", "energy", "Chaleur fatale des séchoirs et tunnels de finition", "600", "MWh",
     "yearly", "nego", "", "Air chaud et buées à 50-70 °C, disponibles en continu du lundi au samedi. Pour serres "
     "ou séchage."),
    ("blanchisserie-iroise", "offer", "water", "Eaux de rinçage peu chargées", "40", "m3", "daily", "free", "",
     "Eaux du dernier rinçage, réutilisables pour le lavage de véhicules ou l'arrosage après simple filtration."),
    ("blanchisserie-iroise", "offer", "skills", "Expertise en réduction des consommations d'eau", "8", "h",
     "monthly", "70", "", "Notre responsable technique a divisé par deux nos consommations d'eau : audit et "
     "conseils pour blanchisseries, conserveries et laiteries."),
    ("blanchisserie-iroise", "offer", "materials", "Linge hôtelier réformé (draps, serviettes)", "600", "kg",
     "monthly", "free", "20 01 11", "Linge en coton usé ou taché, propre. Pour chiffons d'essuyage ou réemploi."),
    # Transports Guéguen
    ("transports-gueguen@1", "offer", "logistics", "Retours à vide Lorient → Quimper en semi bâchée", "33", "unit",
     "daily", "12", "", "Semi-remorque bâchée rentrant à vide de Lanester chaque fin d'après-midi. Prix par "
     "palette."),
    ("transports-gueguen", "offer", "materials", "Pneus poids lourds usagés", "60", "unit", "monthly", "free",
     "16 01 03", "Pneus déjantés, certains rechapables."),
    ("transports-gueguen", "need", "services",
     "Formation CACES R489 mutualisée : entreprises partenaires recherchées", "8", "unit", "once", "nego", "",
     "Nous avons 4 caristes à former ; nous cherchons d'autres entreprises pour une session de 8 stagiaires sur "
     "notre site."),
    ("transports-gueguen", "need", "water", "Eau non potable pour le lavage des camions", "15", "m3", "weekly",
     "nego", "", "Pour notre station de lavage de Rosporden : eau de pluie ou eau de process peu chargée."),
    ("transports-gueguen", "offer", "space", "Parking poids lourds sécurisé, 10 places", "10", "unit", "monthly",
     "60", "", "Places clôturées et éclairées, vidéosurveillance, à 2 minutes de la voie express."),
    # Kerplast Moulage
    ("kerplast-moulage", "offer", "materials", "Carottes et purges de polypropylène", "3", "t", "monthly", "150",
     "07 02 13", "PP homopolymère naturel, broyable, non pollué. En octabins."),
    ("kerplast-moulage", "need", "materials", "PP et PEHD régénérés en granulés", "5", "t", "monthly", "nego", "",
     "Recherche de matière recyclée de qualité injection, MFI 10 à 25."),
    ("kerplast-moulage", "need", "logistics", "Groupage de palettes vers Nantes chaque semaine", "6", "unit",
     "weekly", "nego", "", "Six palettes par semaine vers la région nantaise : nous cherchons un transporteur ou un "
     "voisin qui y livre déjà."),
    ("kerplast-moulage", "offer", "energy", "Chaleur des groupes froids des presses à injecter", "250", "MWh",
     "yearly", "nego", "", "Récupération possible sur les circuits de refroidissement à 35-45 °C."),
    ("kerplast-moulage", "offer", "staff", "Technicien de maintenance disponible deux jours par semaine", "2", "day",
     "weekly", "380", "",
     "Technicien électromécanicien, habilité électrique, à partager avec une entreprise voisine."),
    # Imprimerie Cornouaille Graphic
    ("imprimerie-cornouaille", "offer", "materials", "Rognures de papier blanc non imprimé", "2", "t", "monthly",
     "90", "20 01 01", "Rognures de massicot en papier couché blanc, en sacs."),
    ("imprimerie-cornouaille", "offer", "materials", "Plaques offset aluminium usagées", "300", "kg", "monthly",
     "0.90", "12 01 03", "Plaques d'aluminium rincées, empilées sur palette."),
    ("imprimerie-cornouaille", "offer", "materials", "Solvants de nettoyage des blanchets", "200", "L", "monthly",
     "-1.20", "14 06 03", "Solvants usagés en fûts, à reprendre par un collecteur agréé."),
    ("imprimerie-cornouaille", "offer", "skills", "Conception graphique (PAO) en temps partagé", "10", "h",
     "monthly", "45", "", "Notre infographiste peut réaliser étiquettes, fiches produits et supports de salon."),
    # Coopérative agricole de l'Aven
    ("coop-aven", "need", "materials", "Coproduits pour l'alimentation animale", "20", "t", "weekly", "nego", "",
     "Pour nos éleveurs de bovins et de porcs : drêches, pain, marc de fruits, lactosérum, brisures de biscuits."),
    ("coop-aven", "need", "materials", "Amendement calcique pour épandage", "50", "t", "yearly", "nego", "",
     "Recherche matières calciques ou potassiques (cendres, écumes) pour chauler les prairies."),
    ("coop-aven", "offer", "materials", "Films d'enrubannage et bâches d'ensilage usagés", "5", "t", "yearly",
     "free", "02 01 04", "Films agricoles collectés chez nos adhérents, secoués et mis en balles."),
    ("coop-aven@1", "offer", "space", "Cellule de stockage vide au silo d'Elliant", "400", "t", "monthly", "1.50",
     "", "Cellule de 400 t ventilée, disponible hors moisson, pour produits secs en vrac.", (10, 200, None)),
    ("coop-aven", "offer", "equipment", "Bennes agricoles disponibles hors saison", "30", "day", "once", "80", "",
     "Trois bennes de 14 t, disponibles de janvier à mai. Prix par jour et par benne."),
    # Serres de Kerambars
    ("serres-kerambars", "need", "energy", "Chaleur fatale pour le chauffage des serres", "900", "MWh", "yearly",
     "nego", "", "Besoin de chaleur basse température (40 à 60 °C) d'octobre à avril, à moins de 10 km."),
    ("serres-kerambars", "offer", "materials", "Plants de tomates en fin de culture", "40", "t", "yearly", "free",
     "02 01 03", "Déchets verts de serre, sans ficelles, disponibles en novembre.", (60, 90, 95)),
    ("serres-kerambars", "need", "water", "Eau d'irrigation de récupération", "30", "m3", "daily", "nego", "",
     "Eau de pluie ou eau de process non salée, pour l'irrigation au goutte-à-goutte."),
    ("serres-kerambars", "need", "materials", "Cendres de bois ou amendement pour cultures", "5", "t", "yearly",
     "nego", "", "Pour nos cultures de plein champ en rotation avec les serres."),
    # Jardins de Cornouaille
    ("jardins-cornouaille", "need", "materials", "Écorces ou broyat pour paillage", "50", "m3", "monthly", "10", "",
     "Paillage de massifs pour nos chantiers d'espaces verts, livraison à Pluguffan."),
    ("jardins-cornouaille", "offer", "materials", "Déchets verts de tonte et de taille", "15", "t", "monthly", "free",
     "20 02 01", "Tontes et branchages broyés, stockés sur notre dépôt."),
    ("jardins-cornouaille", "offer", "equipment", "Broyeur de végétaux à prêter entre entreprises", "10", "day",
     "monthly", "120", "", "Broyeur thermique diamètre 15 cm, sur remorque. Prix par jour."),
    # Méthagri Cornouaille
    ("methagri-cornouaille", "need", "materials", "Graisses et matières organiques pour méthanisation", "500", "t",
     "yearly", "nego", "", "Nous recevons graisses, boues de flottation, coproduits de poisson, drêches, marcs et "
     "biodéchets ; analyse préalable du pouvoir méthanogène."),
    ("methagri-cornouaille", "offer", "materials", "Digestat de méthanisation", "2000", "t", "yearly", "free",
     "19 06 06", "Digestat liquide et solide, plan d'épandage disponible."),
    ("methagri-cornouaille", "offer", "energy", "Chaleur du cogénérateur : 1,2 MW disponibles", "4000", "MWh",
     "yearly", "nego", "", "Eau chaude à 85 °C, disponible toute l'année. Séchage de fourrage, de bois ou chauffage "
     "de serres."),
    ("methagri-cornouaille", "offer", "skills", "Retour d'expérience sur le montage d'un projet de méthanisation",
     "15", "h", "yearly", "free", "", "Nous partageons volontiers notre expérience (études, financement, plan "
     "d'approvisionnement) avec des agriculteurs ou des industriels qui ont un projet."),
    # Cornouaille Recyclage
    ("cornouaille-recyclage", "need", "materials", "Films plastiques et housses en PE", "10", "t", "monthly", "30", "",
     "Nous rachetons les films étirables et housses propres, en balles ou en sacs."),
    ("cornouaille-recyclage", "offer", "services", "Collecte mutualisée des cartons en zone d'activité", None, None,
     "weekly", "nego", "", "Tournée hebdomadaire de collecte des cartons, coût partagé entre voisins de zone."),
    ("cornouaille-recyclage@1", "need", "materials", "Ferrailles et métaux en mélange", "20", "t", "monthly", "150",
     "", "Reprise des métaux ferreux et non ferreux, pesée et bordereau fournis."),
    # Armor Collecte Spéciale
    ("armor-collecte-speciale", "offer", "services", "Collecte groupée des huiles usagées et des filtres", None,
     None, "monthly", "nego", "",
     "Tournée mensuelle en Cornouaille, bordereaux de suivi des déchets dangereux fournis."),
    # Bois Énergie Finistère Sud
    ("bois-energie-sud", "need", "materials", "Palettes cassées et bois d'emballage (classe A)", "100", "t",
     "monthly", "-15", "15 01 03", "Bois d'emballage non traité, sans plastique. Prix de reprise par tonne."),
    ("bois-energie-sud", "offer", "energy", "Plaquettes forestières pour chaudières", "200", "t", "monthly", "85", "",
     "Plaquettes sèches (25 % d'humidité), livraison en camion souffleur."),
    # Compost Cornouaille
    ("compost-cornouaille", "offer", "materials", "Compost normé NF U 44-051", "300", "t", "yearly", "12", "",
     "Compost de déchets verts criblé 0-20 mm, en vrac."),
    ("compost-cornouaille", "need", "materials", "Biodéchets, déchets verts et écorces", "200", "t", "monthly",
     "nego", "", "Apports sur la plateforme du lundi au samedi."),
    # Ressourcerie Ti Récup
    ("ressourcerie-ti-recup", "need", "equipment", "Mobilier de bureau et d'hôtellerie réformé", None, None, "once",
     "free", "", "Nous récupérons bureaux, chaises, armoires, lits et literie pour la revente solidaire."),
    ("ressourcerie-ti-recup", "offer", "materials", "Chiffons d'essuyage en coton", "500", "kg", "monthly", "1.50",
     "", "Chiffons découpés dans du textile réformé, en cartons de 10 kg."),
    ("ressourcerie-ti-recup", "need", "materials", "Plaques de plâtre de récupération", "1", "t", "once", "free", "",
     "Pour un chantier d'insertion en second œuvre."),
    # Valorisation Marine Cornouaille
    ("valorisation-marine", "offer", "logistics", "Camion benne étanche : retour à vide Lorient → Trégunc", "20",
     "t", "weekly", "nego", "", "Notre benne étanche revient à vide de Lorient le mardi et le jeudi : disponible "
     "pour un fret compatible (produits de la mer, coproduits)."),
    ("valorisation-marine", "need", "materials", "Coproduits marins : têtes, arêtes, viscères", "50", "t", "weekly",
     "15", "02 02 02", "Catégorie 3, conservés au froid. Enlèvement avec nos camions bennes étanches."),
    # Laiterie de l'Isole
    ("laiterie-isole", "offer", "materials", "Lactosérum doux (petit-lait)", "30", "m3", "daily", "free", "02 05 01",
     "Lactosérum de fromagerie, stocké en cuve réfrigérée. Pour l'alimentation des porcs ou la méthanisation."),
    ("laiterie-isole", "offer", "water", "Eaux blanches de nettoyage prétraitées", "50", "m3", "daily", "free", "",
     "Eaux de nettoyage en place, neutralisées."),
    # Métallerie Le Corre
    ("metallerie-le-corre", "offer", "materials", "Chutes d'acier et profilés courts", "1.5", "t", "monthly", "170",
     "12 01 01", "Chutes de tubes, cornières et plats de moins d'un mètre. Intéressant pour artisans et "
     "ferronniers."),
    ("metallerie-le-corre", "need", "staff", "Soudeurs qualifiés en renfort", "80", "h", "monthly", "nego", "",
     "Renfort de soudeurs pour un chantier de charpente métallique au printemps."),
    # Garage Poids Lourds Kerhuel
    ("garage-kerhuel", "offer", "materials", "Huiles moteur usagées", "600", "L", "monthly", "free", "13 02 05",
     "Huiles de vidange stockées en cuve double paroi de 2 000 L."),
    ("garage-kerhuel", "offer", "materials", "Filtres à huile usagés", "200", "kg", "monthly", "nego", "16 01 07",
     "Filtres égouttés en fût de 200 L."),
    ("garage-kerhuel", "need", "materials", "Chiffons d'essuyage", "100", "kg", "monthly", "1.80", "",
     "Chiffons en coton absorbant, livrés en cartons."),
    # Hôtel-restaurant Ker Avel
    ("hotel-ker-avel", "offer", "materials", "Huiles de friture usagées", "200", "L", "monthly", "free", "20 01 25",
     "Huiles végétales en bidons de 20 L."),
    ("hotel-ker-avel", "offer", "materials", "Biodéchets de cuisine", "300", "kg", "weekly", "free", "20 01 08",
     "Restes de préparation et de repas, en bacs."),
    ("hotel-ker-avel", "offer", "space", "Salle de séminaire pour ateliers inter-entreprises", "1", "day",
     "monthly", "350", "", "Salle de 60 places avec vidéoprojecteur, pause-café possible. Prix par jour."),
    # Cornouaille Formation Sécurité
    ("cornouaille-formation", "offer", "services", "Sessions CACES R489 chariots élévateurs en inter-entreprises",
     "8", "unit", "monthly", "650", "", "Formation et test sur 3 jours, dans nos locaux ou sur votre site. Prix par "
     "stagiaire."),
    # Groupement d'employeurs Cornouaille
    ("ge-cornouaille", "offer", "staff", "Responsable RH en temps partagé", "1", "day", "weekly", "420", "",
     "Recrutement, paie, entretiens annuels : une journée par semaine dans votre entreprise."),
    ("ge-cornouaille", "offer", "staff", "Animateur QSE à temps partagé", "2", "day", "weekly", "400", "",
     "Suivi ISO 9001 et 14001, document unique, audits internes."),
    # Armement Lorientais
    ("armement-lorientais", "offer", "materials", "Filets de pêche usagés en polyamide", "8", "t", "yearly", "free",
     "02 01 04", "Chaluts et filets déposés au port de Keroman, plombs et flotteurs retirés."),
    ("armement-lorientais", "offer", "materials", "Batteries de bord au plomb", "600", "kg", "once", "0.50",
     "16 06 01", "Batteries de démarrage et de servitude remplacées lors des arrêts techniques."),
)

# Conversations: listing title, responding company, requested quantity, first message, owner's reply.
CONVERSATIONS = (
    ("Drêches de brasserie humides", "coop-aven", "6",
     "Bonjour, nous pouvons prendre vos drêches deux fois par semaine pour nos éleveurs laitiers de Bannalec, "
     "avec notre benne. Est-ce compatible avec vos horaires ?",
     "Bonjour, parfait : les drêches sont prêtes le mardi et le vendredi dès 7 h. Je vous propose un essai de "
     "deux semaines."),
    ("Têtes et arêtes de thon et de sardine", "valorisation-marine", "8",
     "Bonjour, nous sommes intéressés par l'ensemble du volume, enlèvement quotidien possible à partir de 14 h.",
     "Bonjour, très bien. Pouvez-vous nous envoyer votre proposition de prix à la tonne et votre agrément "
     "sanitaire ?"),
    ("Chaleur fatale des séchoirs et tunnels de finition", "serres-kerambars", "600",
     "Bonjour, nos serres sont à 6 km. Une étude de faisabilité pour un réseau de chaleur vous intéresserait-elle ?",
     "Bonjour, oui, volontiers. Je vous transmets nos courbes de puissance horaire de l'an dernier."),
    ("Cendres de bois de chaudière", "coop-aven", "3",
     "Bonjour, avez-vous une analyse agronomique des cendres ? Nos adhérents voudraient les épandre sur prairies.",
     "Bonjour, oui, je vous envoie l'analyse de septembre. Enlèvement en big bags possible."),
    ("Fenwick diesel 3,5 t peu utilisé", "cidrerie-fouesnant", "1",
     "Bonjour, ce chariot nous conviendrait pour le chai. Peut-on le voir la semaine prochaine ?",
     "Bonjour, bien sûr, passez mardi après-midi, je vous montrerai le carnet d'entretien."),
    ("Caisses polystyrène (PSE) usagées", "cornouaille-recyclage", "3",
     "Bonjour, nous pouvons densifier le PSE sur notre site ; passage mensuel avec un caisson de 30 m³ ?",
     "Bonjour, d'accord pour un passage mensuel, idéalement en début de mois."),
    ("Huiles moteur usagées", "armor-collecte-speciale", "600",
     "Bonjour, nous passons à Quimper chaque premier jeudi du mois. Nous pouvons vous inclure dans la tournée.",
     "Bonjour, c'est noté, merci de nous envoyer le bordereau à l'avance."),
    ("Écorces de pin et de douglas", "jardins-cornouaille", "30",
     "Bonjour, nous prendrions 30 t par mois de mars à juin pour nos chantiers de paillage. Livraison possible ?",
     "Bonjour, livraison possible en semi fond mouvant, 25 t par voyage. Je vous envoie un devis."),
    ("Formation CACES R489 mutualisée : entreprises partenaires recherchées", "cornouaille-formation", "8",
     "Bonjour, nous pouvons organiser la session sur votre site en mars, avec nos chariots ou les vôtres.",
     "Bonjour, mars nous convient. Trois autres entreprises sont intéressées, je vous mets en relation."),
    ("Responsable RH en temps partagé", "kerplast-moulage", "1",
     "Bonjour, nous aurions besoin d'une journée par semaine pour structurer nos recrutements. Quel délai ?",
     "Bonjour, notre responsable RH a une journée libre dès le mois prochain. Je vous appelle pour en parler."),
    ("Big bags de malt vides", "conserverie-armor", "150",
     "Bonjour, vos big bags nous intéressent pour le stockage de nos sels. Pouvons-nous prendre le lot du mois ?",
     "Bonjour, oui, ils sont à votre disposition à la brasserie, passez quand vous voulez."),
    ("Marc de pomme frais après pressurage", "methagri-cornouaille", "40",
     "Bonjour, nous pouvons prendre tout le marc de la campagne, enlèvement en benne de 30 m³ à notre charge.",
     "Bonjour, très bien, le pressage commence fin septembre, je vous recontacte pour le calendrier."),
)
RESERVED = ("Drêches de brasserie humides", "Écorces de pin et de douglas")
CLOSED = ("Fenwick diesel 3,5 t peu utilisé", "Big bags de malt vides")
DRAFTS = 5
PENDING = 8
DORMANT = 6

# Synergies the practitioner follows (PNSI stages): (title, giver, taker, kind, sub-type, continuous,
# stage path after `idea`, stop reason, days ago created, quantity, unit, benefits: figures and the
# emission factor key used for CO2e, None for none; "verified" when the practitioner checked them).
SYNERGIES = (
    ("Drêches de brasserie vers l'élevage", "brasserie-odet", "coop-aven", "ME", "reuse", True,
     ("discussion", "negotiation", "implementation", "finalising", "completed"), None, 300, "120", "t",
     ({"tonnes_reused": "120", "tonnes_diverted": "120", "eur_saved": "4800"}, "stockage_isdnd_evite", "verified")),
    ("Chutes d'acier inox vers la métallerie", "chantiers-moros", "metallerie-le-corre", "ME", "recycling", False,
     ("discussion", "negotiation", "implementation", "finalising", "completed"), None, 240, "8", "t",
     ({"tonnes_reused": "8", "eur_additional_sales": "2400"}, "acier_ferrailles_recyclage", "verified")),
    ("Coproduits de poisson vers la méthanisation", "conserverie-armor", "methagri-cornouaille", "ME",
     "methanisation", True, ("discussion", "negotiation", "implementation"), None, 200, "300", "t",
     ({"tonnes_diverted": "300", "mwh_produced": "180", "eur_saved": "15000"}, "stockage_isdnd_evite", "declared")),
    ("Chaleur des autoclaves vers les serres", "conserverie-bigoudene", "serres-kerambars", "ME", "waste_heat", True,
     ("discussion", "negotiation"), None, 150, "400", "MWh", None),
    ("Palettes bois vers la ressourcerie", "transports-gueguen", "ressourcerie-ti-recup", "ME", "reuse", True,
     ("discussion", "negotiation", "implementation", "finalising"), None, 180, "1500", "unit",
     ({"tonnes_reused": "22.5", "eur_saved": "3000"}, None, "verified")),
    ("Sciure et copeaux vers le bois-énergie", "scierie-ster-goz", "bois-energie-sud", "ME", "energy_recovery", True,
     ("discussion",), None, 60, "90", "t", None),
    ("Cartons d'emballage réemployés par la biscuiterie", "imprimerie-cornouaille", "biscuiterie-aven", "ME",
     "reuse", False, (), None, 20, "2", "t", None),
    ("Mutualisation de la formation SST", "cornouaille-formation", "conserverie-armor", "TH", "pooling", True,
     ("discussion", "negotiation", "implementation", "finalising", "completed"), None, 260, None, None,
     ({"eur_saved": "6200", "jobs": "0.5"}, None, "verified")),
    ("Cariste partagé entre la laiterie et la cidrerie", "ge-cornouaille", "laiterie-isole", "TH",
     "human_resources", True, ("discussion", "negotiation", "implementation"), None, 120, None, None,
     ({"jobs": "1", "eur_saved": "9000"}, None, "declared")),
    ("Entrepôt frigorifique partagé", "maree-cornouaille", "conserverie-bigoudene", "TH", "pooling", True,
     ("discussion", "blocked"), "financial", 160, None, None, None),
    ("Boues de blanchisserie en compostage", "blanchisserie-iroise", "compost-cornouaille", "ME", "treatment", True,
     ("discussion", "abandoned"), "regulatory", 210, "40", "t", None),
    ("Films plastiques vers le moulage", "coop-aven", "kerplast-moulage", "ME", "recycling", True,
     ("discussion", "negotiation", "abandoned"), "technical", 190, "12", "t", None),
    ("Huiles de friture vers la collecte", "hotel-ker-avel", "armor-collecte-speciale", "ME", "treatment", True,
     (), None, 10, "1.2", "t", None),
)
# The resources workshop held three weeks ago: who came, and the haves and wants typed in on the day
# (company, kind, category, title, quantity, unit, waste code).
WORKSHOP_COMPANIES = ("conserverie-armor", "maree-cornouaille", "brasserie-odet", "cidrerie-fouesnant",
                      "scierie-ster-goz", "menuiserie-le-floch", "kerplast-moulage", "coop-aven",
                      "serres-kerambars", "methagri-cornouaille", "cornouaille-recyclage", "ressourcerie-ti-recup",
                      "transports-gueguen", "laiterie-isole", "metallerie-le-corre")
WORKSHOP_ENTRIES = (
    ("cidrerie-fouesnant", "offer", "materials", "Marc de pommes après pressage", "60", "t", "02 03 04"),
    ("laiterie-isole", "offer", "materials", "Lactosérum doux", "200", "m3", "02 05 01"),
    ("methagri-cornouaille", "need", "materials", "Cherche intrants agroalimentaires pour méthaniseur", "500", "t", ""),
    ("menuiserie-le-floch", "offer", "materials", "Chutes de contreplaqué marine", "3", "t", "03 01 05"),
    ("ressourcerie-ti-recup", "need", "materials", "Cherche chutes de bois pour ateliers de réemploi", "2", "t", ""),
    ("metallerie-le-corre", "need", "materials", "Cherche tôles et chutes d'inox", "5", "t", ""),
    ("kerplast-moulage", "offer", "materials", "Carottes et purges de polypropylène", "4", "t", "07 02 13"),
    ("cornouaille-recyclage", "need", "materials", "Cherche déchets plastiques triés (PP, PEhd)", "20", "t", ""),
)

# Two companies that signed up last week and wait for the practitioner's review.
PENDING_COMPANIES = (
    ("Algues de Glénan SARL", "29900", "Concarneau", "Récolte et séchage d'algues de rive.", "Youna Riou"),
    ("Atelier Vélo Cornouaille", "29000", "Quimper", "Réparation et reconditionnement de vélos.", "Tanguy Caradec"),
)

# --- loader ----------------------------------------------------------------------------------


def load(force: bool = False) -> list[tuple[str, str, str]] | None:
    """Create the demo territories, companies, users, listings and conversations, then commit.

    Does nothing and returns None when the database already holds a company (unless `force`).
    Returns the demo accounts as (role, e-mail, password) rows."""
    if not force and db.session.scalar(sa.select(Company.id).limit(1)) is not None:
        return None
    accounts = _Loader(random.Random(SEED)).run()
    # The services queued the e-mails real events would send (approvals, answers, matches…): for
    # invented companies at .example addresses they would only bury the developer's own mail in
    # /dev/mail. Matches are still computed (they show on the listing pages), silently.
    db.session.execute(sa.delete(OutgoingEmail))
    forget_after_commit(db.session())
    published = db.session.scalars(sa.select(Listing.id).where(Listing.status == "published")).all()
    for listing_id in published:
        enqueue_after_commit(db.session(), match_listing, listing_id, False)
    enqueue_after_commit(db.session(), apply_index_tasks)  # the index rows were written with the listings
    db.session.commit()
    return accounts


def _days_ago(now: datetime, days: float) -> datetime:
    return now - timedelta(days=days)


class _Loader:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.now = utcnow().replace(microsecond=0)
        self.today = date.today()
        self.companies = {}
        self.members = {}
        self.listings = {}
        self.sirets = set()

    def run(self) -> list[tuple[str, str, str]]:
        taken = [email for email in (ADMIN_EMAIL, PRACTITIONER_EMAIL) if find_user(email)]
        if taken:
            raise RuntimeError(f"Demo data already loaded ({', '.join(taken)} exists); start from an empty database.")

        self.concarneau = self._territories()
        admin_password, practitioner_password = secrets.token_urlsafe(9), secrets.token_urlsafe(9)
        member_password = secrets.token_urlsafe(9)
        self.admin = create_user(ADMIN_EMAIL, admin_password, "Erwan Kerdraon", confirmed=True, is_admin=True)
        self.practitioner = create_user(PRACTITIONER_EMAIL, practitioner_password, "Maëlle Le Gall", confirmed=True)
        assign_practitioner(self.concarneau, self.practitioner)

        for row in COMPANIES:
            self._company(row, member_password)
        for key in TRUSTED:
            set_trusted(self.concarneau, self.companies[key], True, self.practitioner)
        for row in LISTINGS:
            self._listing(row)
        self._statuses()
        self._auction()
        self._synergies()
        self._workshop()
        self._pending_companies(member_password)
        self._backdate_accounts()

        example = self.members[COMPANIES[0][0]]
        return [
            ("administrateur", ADMIN_EMAIL, admin_password),
            ("animatrice", PRACTITIONER_EMAIL, practitioner_password),
            ("membre (tous)", f"contact@<entreprise>.{DEMO_DOMAIN}", member_password),
            ("ex. membre", example.email, member_password),
        ]

    # territories, companies, users

    def _territories(self) -> Territory:
        """Both territories (reused if they exist under the same name); returns Concarneau."""
        def existing(name):
            return db.session.scalar(sa.select(Territory).where(Territory.name == name))

        concarneau = existing(CONCARNEAU) or save_territory(
            Territory(), name=CONCARNEAU, kind="postcodes", postcodes=CONCARNEAU_POSTCODES, departements="",
            description=CONCARNEAU_DESCRIPTION)
        if existing(LORIENT) is None:
            center = reference.locate("56100")
            save_territory(
                Territory(), name=LORIENT, kind="radius", postcodes="", departements="", center_postcode="56100",
                center_latitude=center.latitude, center_longitude=center.longitude, radius_km=25.0,
                description=LORIENT_DESCRIPTION)
        return concarneau

    def _company(self, row, member_password: str) -> None:
        key, name, naf, contact, (postcode, city, site_name, address), description, provider, second = row
        email = f"contact@{key}.{DEMO_DOMAIN}"
        categories, codes, operations = provider or ("", "", "")
        data = {
            "name": name,
            "siret": self._siret() if key in WITH_SIRET else None,
            "naf_code": naf,
            "description": description,
            "contact_name": contact,
            "contact_email": email,
            "contact_phone": self._phone(postcode),
            "website": f"https://www.{key}.example" if key in WITH_WEBSITE else None,
            "is_solution_provider": provider is not None,
            "handled_categories": categories.split(),
            "handled_waste_codes": codes,
            "treatment_operations": operations.split(),
        }
        site = {"name": site_name, "postcode": postcode, "city": city, "address": address}
        company = create_company(None, data, site)
        if second:
            site_name, postcode, city, address = second
            add_site(company, name=site_name, postcode=postcode, city=city, address=address)
        self.companies[key] = company
        self.members[key] = create_user(email, member_password, contact, confirmed=True, company=company)

    def _siret(self) -> str:
        """A SIRET with valid check digits (SIREN and establishment), unique in this load."""
        while True:
            siren = str(self.rng.randint(3, 9)) + "".join(str(self.rng.randint(0, 9)) for _ in range(7))
            siren += luhn.calc_check_digit(siren)
            base = siren + self.rng.choice(("0001", "0002", "0003"))
            number = base + luhn.calc_check_digit(base)
            if siret.is_valid(number) and number not in self.sirets:
                self.sirets.add(number)
                return number

    def _phone(self, postcode: str) -> str:
        prefix = "02 97" if postcode.startswith("56") else "02 98"
        return prefix + "".join(f" {self.rng.randint(10, 99)}" for _ in range(3))

    def _backdate_accounts(self) -> None:
        start = _days_ago(self.now, 120)
        self.admin.created_at = self.practitioner.created_at = start
        for key, company in self.companies.items():
            company.created_at = company.updated_at = start + timedelta(days=self.rng.uniform(1, 25))
            self.members[key].created_at = company.created_at

    def _member(self, company: Company):
        return next(user for user in self.members.values() if user.company_id == company.id)

    # listings

    def _listing(self, row) -> None:
        company_ref, kind, category, title, quantity, unit, frequency, price, waste_code, description, *dates = row
        key, _, site_index = company_ref.partition("@")
        company = self.companies[key]
        available_from, available_until, expires_on = dates[0] if dates else (None, None, None)

        def day(offset):
            return self.today + timedelta(days=offset) if offset is not None else None

        priced = price not in ("free", "nego")
        data = {
            "kind": kind,
            "title": title,
            "description": description,
            "category": category,
            "waste_code": waste_code or None,
            "quantity": Decimal(quantity) if quantity else None,
            "unit": unit,
            "frequency": frequency,
            "price_mode": "priced" if priced else {"free": "free", "nego": "negotiable"}[price],
            "unit_price_eur": Decimal(price) if priced else None,
            "available_from": day(available_from),
            "available_until": day(available_until),
            "expires_on": day(expires_on),
        }
        assert title not in self.listings, f"duplicate demo title: {title}"
        site = company.sites[int(site_index or 0)]
        self.listings[title] = services.create(self.members[key], company, site, data)

    def _statuses(self) -> None:
        """A few drafts and pending listings, most published; then back-dating, conversations,
        reserved and closed listings."""
        rng = self.rng
        talked = {row[0] for row in CONVERSATIONS}
        all_listings = list(self.listings.values())
        untouched = [item for item in all_listings if item.title not in talked]
        drafts = set(rng.sample(untouched, DRAFTS))
        trusted_ids = {self.companies[key].id for key in TRUSTED}
        moderated_here = [
            item for item in untouched
            if item not in drafts and item.company_id not in trusted_ids and self.concarneau in item.site.territories
        ]
        pending = set(rng.sample(moderated_here, PENDING))

        for listing in all_listings:
            if listing in drafts:
                continue
            if services.submit(self._member(listing.company), listing) == "pending" and listing not in pending:
                moderator = self.practitioner if self.concarneau in listing.site.territories else self.admin
                services.approve(moderator, listing)

        published = [item for item in all_listings if item.status == "published" and item.title not in talked]
        dormant = set(rng.sample(published, DORMANT))
        for listing in all_listings:
            self._backdate_listing(listing, dormant=listing in dormant, talked=listing.title in talked)

        for title, responder_key, quantity, body, answer in CONVERSATIONS:
            self._conversation(self.listings[title], responder_key, Decimal(quantity), body, answer)
        for titles, action in ((RESERVED, "reserve"), (CLOSED, "close")):
            for title in titles:
                listing = self.listings[title]
                last = listing.last_activity_at
                services.change_status(self._member(listing.company), listing, action)
                listing.last_activity_at = listing.updated_at = min(self.now, last + timedelta(days=rng.uniform(1, 4)))
        self._backdate_events(all_listings)

    def _backdate_listing(self, listing, dormant: bool, talked: bool) -> None:
        """Spread publication over the last 90 days; dormant ones untouched for more than 60 days."""
        rng = self.rng
        if listing.status == "draft":
            listing.created_at = _days_ago(self.now, rng.uniform(0.5, 12))
            listing.last_activity_at = listing.updated_at = listing.created_at
            return
        if listing.status == "pending":
            listing.submitted_at = _days_ago(self.now, rng.uniform(0.2, 6))
            listing.created_at = listing.submitted_at - timedelta(hours=rng.uniform(0.2, 30))
            listing.last_activity_at = listing.updated_at = listing.submitted_at
            return
        age = rng.uniform(62, 88) if dormant else rng.uniform(15, 55) if talked else rng.uniform(0.1, 90)
        listing.published_at = _days_ago(self.now, age)
        listing.submitted_at = listing.published_at - timedelta(hours=rng.uniform(0.5, 40))
        listing.created_at = listing.submitted_at - timedelta(minutes=rng.uniform(5, 600))
        if listing.moderated_at is not None:
            listing.moderated_at = listing.published_at
        if dormant or age <= 50:
            listing.last_activity_at = listing.published_at
        else:  # renewed or edited since
            listing.last_activity_at = _days_ago(self.now, rng.uniform(3, 45))
        listing.updated_at = listing.last_activity_at
        listing.view_count = 0 if dormant else rng.randint(2, 60)

    def _auction(self) -> None:
        """A live room in preparation a week ahead: the territory's companies invited, six offers put up
        by their owners, ready for the practitioner to open the room and present them."""
        from marketplace.auctions import services as auctions

        start = (self.now + timedelta(days=7)).replace(hour=8, minute=30, second=0)  # 9:30 in Quimper (UTC+1)
        session = auctions.create_session(self.practitioner, self.concarneau, {
            "title": "Enchères de ressources de Concarneau Cornouaille", "mode": "live", "starts_at": start,
            "place": "CCI Bretagne Ouest, Quimper", "is_online": False,
            "description": "Une vingtaine d'entreprises, une matinée : chaque lot est présenté, la salle enchérit, "
                           "ce qui reste part en deuxième round vers les apporteurs de solutions."})
        here = sorted((c for c in self.companies.values() if self.concarneau.id in c.territory_ids
                       and not c.is_solution_provider), key=lambda c: c.name)
        auctions.invite(self.practitioner, session, here)
        offers = sorted((x for x in self.listings.values() if x.status == "published" and x.kind == "offer"
                         and x.quantity and x.category in ("materials", "equipment")
                         and self.concarneau in x.site.territories), key=lambda x: x.title)
        for listing in self.rng.sample(offers, min(6, len(offers))):
            divisible = listing.quantity > 1
            auctions.put_up(self._member(listing.company), session, listing, {
                "quantity": listing.quantity, "allow_partial": divisible,
                "min_take": (listing.quantity / 4).quantize(Decimal("1")) or None if divisible else None,
                "reserve_unit_price_eur": None, "pickup_from": self.today + timedelta(days=8),
                "pickup_until": self.today + timedelta(days=38), "note": ""})

    def _synergies(self) -> None:
        """Synergies at every stage, some with declared or verified benefits (CO2e from the shipped
        emission factors), a few next actions due, one overdue: the board and reports have content."""
        from marketplace.synergies import services as synergies

        if not synergies.active_factors():
            synergies.load_default_factors()
        actions = ("Appeler pour fixer la date de la première livraison", "Relancer pour le devis de transport",
                   "Visite sur site avec les deux entreprises", "Envoyer la convention à signer")
        for index, (title, giver, taker, kind, sub_type, continuous, path, reason, age, quantity, unit,
                    benefits) in enumerate(SYNERGIES):
            synergy = synergies.create_manual(self.practitioner, self.concarneau, {
                "title": title, "kind": kind, "sub_type": sub_type, "is_continuous": continuous,
                "giver": self.companies[giver], "taker": self.companies[taker],
                "quantity": Decimal(quantity) if quantity else None, "unit": unit})
            for stage in path:
                stopping = stage in ("blocked", "abandoned")
                synergies.move(self.practitioner, synergy, stage, reason=reason if stopping else None)
            if benefits:
                figures, factor_key, status = benefits
                values = {name: Decimal(value) for name, value in figures.items()}
                factor = synergies.factor_by_key(factor_key) if factor_key else None
                synergies.declare_benefits(self._member(self.companies[giver]), synergy, values, factor=factor)
                if status == "verified":
                    synergies.verify_benefits(self.practitioner, synergy, values, factor=factor)
            if synergy.is_open:
                due = self.today + timedelta(days=(index % 5) * 4 - 3)  # some late, some this week, some later
                synergies.set_next_action(self.practitioner, synergy, actions[index % len(actions)], due)
            self._backdate_synergy(synergy, age)

    def _backdate_synergy(self, synergy, age: float) -> None:
        """Spread the synergy's history over `age` days up to a few days ago."""
        from marketplace.synergies.models import SynergyEvent

        db.session.flush()
        created = _days_ago(self.now, age)
        events = db.session.scalars(sa.select(SynergyEvent).where(SynergyEvent.synergy_id == synergy.id)
                                    .order_by(SynergyEvent.id)).all()
        step = (age - 2) / max(len(events), 1)
        dates = {event.id: created + timedelta(days=step * position) for position, event in enumerate(events)}
        # The history is append-only for the application; the demo alone invents its past, in one statement
        # per row that bypasses the ORM guard.
        for event_id, when in dates.items():
            db.session.execute(sa.update(SynergyEvent).where(SynergyEvent.id == event_id).values(created_at=when)
                               .execution_options(synchronize_session=False))
        synergy.created_at = created
        synergy.stage_changed_at = synergy.updated_at = max(
            [dates[e.id] for e in events if e.action in ("created", "stage")], default=created)
        for benefit in synergy.benefits:
            benefit.recorded_at = synergy.stage_changed_at

    def _workshop(self) -> None:
        """A workshop three weeks ago: its attendees, the rows typed in on the day (checked like the entry
        table's), their matches; reports not mailed yet."""
        from marketplace.workshops import queries as workshop_queries
        from marketplace.workshops import rules as workshop_rules
        from marketplace.workshops import services as workshops

        held_on = self.today - timedelta(days=21)
        workshop = workshops.create_workshop(
            self.practitioner, self.concarneau,
            {"title": "Atelier ressources de Concarneau Cornouaille", "held_on": held_on,
             "place": "CCI Bretagne Ouest, Quimper", "notes": "Quinze entreprises, deux heures de tables rondes."},
            [self.companies[key] for key in WORKSHOP_COMPANIES])
        rows = [{"company_id": str(self.companies[key].id), "kind": kind, "category": category, "title": title,
                 "quantity": quantity, "unit": unit, "waste_code": code, "frequency": "yearly", "description": ""}
                for key, kind, category, title, quantity, unit, code in WORKSHOP_ENTRIES]
        attendees = {a.company_id: a for a in workshop_queries.entry_attendees(workshop)}
        lines = workshop_rules.check_entries(rows, attendees)
        problems = [(line.number, line.errors) for line in lines if line.errors]
        assert not problems, problems
        result = workshops.add_entries(self.practitioner, workshop, lines)
        when = datetime.combine(held_on, datetime.min.time()) + timedelta(hours=11)
        workshop.created_at = workshop.updated_at = when - timedelta(days=2)
        for listing in result.listings:
            listing.created_at = listing.submitted_at = listing.published_at = when
            listing.last_activity_at = listing.updated_at = when
            self.listings[listing.title] = listing

    def _pending_companies(self, member_password: str) -> None:
        """Companies that signed up on their own and wait for review (the moderation queue)."""
        for name, postcode, city, description, contact in PENDING_COMPANIES:
            key = name.split()[0].lower() + "-" + city.lower()
            email = f"contact@{key}.{DEMO_DOMAIN}"
            user = create_user(email, member_password, contact, confirmed=True)
            company = create_company(user, {"name": name, "description": description, "contact_name": contact,
                                            "contact_email": email}, {"name": "Siège", "postcode": postcode,
                                                                       "city": city})
            self.companies[key] = company
            self.members[key] = user

    def _conversation(self, listing, responder_key: str, quantity: Decimal, body: str, answer: str) -> None:
        conversation = respond(self.members[responder_key], listing, quantity, body)
        answer_message = reply(self._member(listing.company), conversation, answer)
        asked = min(self.now, listing.published_at + timedelta(days=self.rng.uniform(0.5, 12)))
        answered = min(self.now, asked + timedelta(hours=self.rng.uniform(1, 30)))
        conversation.created_at = asked
        for message in conversation.messages:
            message.created_at = answered if message is answer_message else asked
        conversation.last_message_at = answered
        listing.last_activity_at = listing.updated_at = max(asked, listing.last_activity_at)

    def _backdate_events(self, listings) -> None:
        """Give each listing's history the dates chosen above."""
        db.session.flush()
        for listing in listings:
            when = {
                "created": listing.created_at, "submitted": listing.submitted_at, "published": listing.published_at,
                "approved": listing.published_at, "reserve": listing.last_activity_at,
                "close": listing.last_activity_at,
            }
            events = db.session.scalars(sa.select(ListingEvent).where(ListingEvent.listing_id == listing.id)).all()
            for event in events:
                if when.get(event.action):
                    event.created_at = when[event.action]
