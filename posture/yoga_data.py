"""The yoga pose catalogue, as data: the 11 poses of the source system with their target joint angles.

Plain Python literals, no logic and no Django: :mod:`posture.yoga` validates and wraps them, the API serves
them, the synthetic-skeleton generator draws them.

Angles (degrees, measured in the image plane by :mod:`posture.geometry`, 0..180)
-------------------------------------------------------------------------------
* ``left_elbow`` / ``right_elbow``: shoulder–elbow–wrist; 180 = straight arm.
* ``left_shoulder`` / ``right_shoulder``: elbow–shoulder–hip, the angle between the upper arm and the side of
  the torso; ~10 = arm hanging by the side, 90 = arm level with the shoulder, ~180 = arm overhead in line
  with the torso.
* ``left_hip`` / ``right_hip``: shoulder–hip–knee; 180 = torso and thigh in one line (standing), 90 = thigh
  at a right angle to the torso (sitting), below 90 = a deep fold (Downward Dog's inverted V).
* ``left_knee`` / ``right_knee``: hip–knee–ankle; 180 = straight leg.
* ``torso_inclination``: shoulder midpoint → hip midpoint from the downward vertical; 0 = upright, 90 = level,
  180 = upside down (Downward Dog, with the hips above the shoulders, is ~130).

Each target is ``(target, tolerance)`` or ``(target, tolerance, weight)`` (weight 1 when left out; the joints
that make the pose weigh 2, optional arm variations 0.5). A measurement within ``target ± tolerance`` is
correct; see :func:`posture.yoga.joint_score` for how a miss costs accuracy.

Sides
-----
Asymmetric poses are written for their LEFT side; ``side_refers_to`` says what "left" means (Warrior II on
the left = the left leg in front, bent). The right side is the mirror image: every ``left_*`` target swapped
with its ``right_*`` twin. Analysis tries both and reports the better as ``side``.

Where the numbers come from
---------------------------
The source system scored three poses (elbow/shoulder/hip/knee): Chair 160–180/140–170/70–90/70–110 (kept
here), Downward Dog 160–180/80–120/150–180/160–180 and Mountain around 178/12.5/180/180. Its Downward Dog
shoulder and hip ranges do not fit the angle definitions above — in the pose the arms continue the line of
the torso (elbow–shoulder–hip ~165) and the body folds at the hips into an inverted V (shoulder–hip–knee
~70) — so they were re-derived from the pose's geometry, as were the eight poses the source returned a
fixed number for. Every pose's targets were checked to be one consistent body: a skeleton built from them
(``posture.yoga_synthetic``) is the pose.
"""

from __future__ import annotations

SYMMETRIC = None  # side_refers_to of a pose that has no sides

POSES: tuple[dict, ...] = (
    {
        "name": "Chair",
        "slug": "chair",
        "sanskrit": "Utkatasana",
        "difficulty": "beginner",
        "side_refers_to": SYMMETRIC,
        "description": "A standing squat with the arms raised alongside the ears, as if sitting back into "
                       "an invisible chair.",
        "instructions": [
            "Stand with your feet together or hip-width apart.",
            "Raise your arms overhead, straight, palms facing each other.",
            "Bend your knees and sit your hips back until your thighs approach parallel to the floor.",
            "Lean your chest slightly forward, keeping your spine long and your weight in your heels.",
            "Hold for 5 breaths, then straighten your legs to come up.",
        ],
        "common_mistakes": [
            "Knees drifting far past the toes instead of sitting the hips back.",
            "Arching the lower back and flaring the ribs.",
            "Dropping the arms forward or bending the elbows.",
            "Not bending the knees enough (a shallow squat).",
        ],
        "benefits": ["Strengthens the thighs, glutes and ankles", "Stretches the shoulders and chest",
                     "Builds heat and endurance"],
        "targets": {
            "left_elbow": (170, 10), "right_elbow": (170, 10),
            "left_shoulder": (155, 15), "right_shoulder": (155, 15),
            "left_hip": (80, 10, 2), "right_hip": (80, 10, 2),
            "left_knee": (90, 20, 2), "right_knee": (90, 20, 2),
            "torso_inclination": (35, 12),
        },
    },
    {
        "name": "Mountain",
        "slug": "mountain",
        "sanskrit": "Tadasana",
        "difficulty": "beginner",
        "side_refers_to": SYMMETRIC,
        "description": "Standing tall and still with the arms by the sides: the foundation of every standing "
                       "pose.",
        "instructions": [
            "Stand with your feet together or hip-width apart, weight even across both feet.",
            "Straighten your legs without locking the knees; lift the kneecaps.",
            "Lengthen your spine, relax your shoulders down and back.",
            "Let your arms hang by your sides, palms facing in or forward.",
            "Keep your head level, chin parallel to the floor, and breathe evenly.",
        ],
        "common_mistakes": [
            "Locking or bending the knees.",
            "Leaning forward or back instead of stacking shoulders over hips.",
            "Holding the arms away from the body or bending the elbows.",
            "Shrugging the shoulders towards the ears.",
        ],
        "benefits": ["Improves posture and body awareness", "Strengthens the thighs and ankles",
                     "Steadies the breath"],
        "targets": {
            "left_elbow": (175, 10), "right_elbow": (175, 10),
            "left_shoulder": (12, 10), "right_shoulder": (12, 10),
            "left_hip": (178, 7, 2), "right_hip": (178, 7, 2),
            "left_knee": (178, 7, 2), "right_knee": (178, 7, 2),
            "torso_inclination": (0, 8),
        },
    },
    {
        "name": "Tree",
        "slug": "tree",
        "sanskrit": "Vrksasana",
        "difficulty": "beginner",
        "side_refers_to": "bent (raised) leg",
        "description": "Balancing on one straight leg with the other foot pressed into the inner thigh, arms "
                       "raised overhead.",
        "instructions": [
            "Stand tall and shift your weight onto your right foot.",
            "Bend your left knee and place the sole of the left foot on your inner right thigh (not on the knee).",
            "Let the left knee open out to the side while the hips stay level.",
            "Raise your arms overhead, palms together or apart.",
            "Fix your gaze on a still point and hold for 5 breaths; repeat on the other side.",
        ],
        "common_mistakes": [
            "Pressing the foot against the side of the standing knee.",
            "Letting the bent knee swing forward instead of opening it to the side.",
            "Bending or locking the standing knee.",
            "Leaning the torso towards the standing leg.",
        ],
        "benefits": ["Improves balance and focus", "Strengthens the standing leg and ankle",
                     "Opens the hip of the bent leg"],
        "targets": {
            "left_elbow": (145, 25, 0.5), "right_elbow": (145, 25, 0.5),
            "left_shoulder": (160, 20, 0.5), "right_shoulder": (160, 20, 0.5),
            "left_hip": (120, 20, 2), "right_hip": (176, 8),
            "left_knee": (45, 20, 2), "right_knee": (178, 7, 2),
            "torso_inclination": (0, 8),
        },
    },
    {
        "name": "Downward Dog",
        "slug": "downward-dog",
        "sanskrit": "Adho Mukha Svanasana",
        "difficulty": "beginner",
        "side_refers_to": SYMMETRIC,
        "description": "An inverted V: hands and feet on the floor, hips lifted high, arms and back in one "
                       "long line.",
        "instructions": [
            "Start on hands and knees, hands shoulder-width apart, knees under the hips.",
            "Tuck your toes and lift your hips up and back.",
            "Straighten your arms and press the floor away so arms and back form one line.",
            "Straighten your legs as far as you can and reach your heels towards the floor.",
            "Relax your neck between your arms and hold for 5 breaths.",
        ],
        "common_mistakes": [
            "Rounding the back because the hamstrings are tight (bend the knees a little instead).",
            "Bending the elbows or letting the shoulders collapse towards the floor.",
            "A short stance that turns the pose into a plank or a pike.",
            "Hips too low, so the V flattens.",
        ],
        "benefits": ["Stretches the hamstrings, calves and shoulders", "Strengthens the arms and upper back",
                     "Calms the mind"],
        "targets": {
            "left_elbow": (172, 10), "right_elbow": (172, 10),
            "left_shoulder": (165, 15, 2), "right_shoulder": (165, 15, 2),
            "left_hip": (70, 15, 2), "right_hip": (70, 15, 2),
            "left_knee": (172, 10), "right_knee": (172, 10),
            "torso_inclination": (130, 15, 2),
        },
    },
    {
        "name": "Goddess",
        "slug": "goddess",
        "sanskrit": "Utkata Konasana",
        "difficulty": "beginner",
        "side_refers_to": SYMMETRIC,
        "description": "A wide-legged squat with the knees bent out over the toes and the arms in a cactus "
                       "shape.",
        "instructions": [
            "Step your feet wide apart and turn your toes out about 45 degrees.",
            "Bend your knees over your toes and lower your hips towards knee height.",
            "Keep your torso upright and your tailbone pointing down.",
            "Raise your arms to shoulder height and bend the elbows to 90 degrees, palms forward.",
            "Hold for 5 breaths, pressing the knees out.",
        ],
        "common_mistakes": [
            "Knees collapsing inwards instead of tracking over the toes.",
            "Leaning the torso forward.",
            "A shallow squat with the knees barely bent.",
            "Letting the elbows drop below shoulder height.",
        ],
        "benefits": ["Strengthens the legs, glutes and core", "Opens the hips and inner thighs",
                     "Builds stamina"],
        "targets": {
            "left_elbow": (90, 20), "right_elbow": (90, 20),
            "left_shoulder": (95, 15), "right_shoulder": (95, 15),
            "left_hip": (115, 15, 2), "right_hip": (115, 15, 2),
            "left_knee": (105, 15, 2), "right_knee": (105, 15, 2),
            "torso_inclination": (0, 10),
        },
    },
    {
        "name": "Lord of the Dance",
        "slug": "lord-of-the-dance",
        "sanskrit": "Natarajasana",
        "difficulty": "intermediate",
        "side_refers_to": "lifted leg (held by the same hand)",
        "description": "A standing backbend and balance: one foot held behind and lifted, the torso tipping "
                       "forward, the other arm reaching ahead.",
        "instructions": [
            "Stand on your right leg and bend your left knee, bringing the left heel towards your buttock.",
            "Hold the inside of the left foot or ankle with your left hand.",
            "Reach your right arm forward and up.",
            "Kick the left foot back into your hand and lift it while tipping your torso forward.",
            "Keep the standing leg straight and hold for 5 breaths; repeat on the other side.",
        ],
        "common_mistakes": [
            "Bending the standing knee.",
            "Letting the lifted knee splay out to the side.",
            "Collapsing the chest towards the floor instead of lifting it.",
            "Pulling the foot with the arm rather than pressing the foot into the hand.",
        ],
        "benefits": ["Improves balance and concentration", "Opens the chest, shoulders and hip flexors",
                     "Strengthens the standing leg"],
        "targets": {
            "left_elbow": (165, 15), "right_elbow": (172, 10),
            "left_shoulder": (60, 25), "right_shoulder": (170, 15),
            "left_hip": (130, 20, 2), "right_hip": (135, 15),
            "left_knee": (75, 25, 2), "right_knee": (176, 8, 2),
            "torso_inclination": (45, 15),
        },
    },
    {
        "name": "Low Lunge",
        "slug": "low-lunge",
        "sanskrit": "Anjaneyasana",
        "difficulty": "beginner",
        "side_refers_to": "front leg",
        "description": "A lunge with the back knee down on the mat, the hips sinking forward and the arms "
                       "raised.",
        "instructions": [
            "From Downward Dog, step your left foot forward between your hands.",
            "Lower your right knee to the mat and slide it back; untuck the back toes.",
            "Stack your left knee over your left ankle.",
            "Lift your torso upright and raise your arms overhead.",
            "Sink your hips forward and down; hold for 5 breaths, then switch sides.",
        ],
        "common_mistakes": [
            "Front knee travelling past the ankle.",
            "Back knee too close to the front foot, so the hips cannot sink.",
            "Arching the lower back instead of lengthening the tailbone.",
            "Leaning the torso forward over the front thigh.",
        ],
        "benefits": ["Stretches the hip flexors and quadriceps of the back leg", "Strengthens the front leg",
                     "Opens the chest and shoulders"],
        "targets": {
            "left_elbow": (172, 10), "right_elbow": (172, 10),
            "left_shoulder": (165, 15), "right_shoulder": (165, 15),
            "left_hip": (95, 15, 2), "right_hip": (150, 15, 2),
            "left_knee": (90, 15, 2), "right_knee": (120, 20, 2),
            "torso_inclination": (5, 10),
        },
    },
    {
        "name": "Side Plank",
        "slug": "side-plank",
        "sanskrit": "Vasisthasana",
        "difficulty": "intermediate",
        "side_refers_to": "supporting hand (the one on the floor)",
        "description": "Balancing on one hand and the edges of the feet, the body one straight diagonal line, "
                       "the top arm reaching up.",
        "instructions": [
            "From plank, shift your weight onto your left hand, placed under the left shoulder.",
            "Roll onto the outer edge of your left foot and stack the right foot on top.",
            "Lift your hips so the body forms one straight line from head to heels.",
            "Reach your right arm straight up, in line with the supporting arm.",
            "Hold for 3–5 breaths; repeat on the other side.",
        ],
        "common_mistakes": [
            "Hips sagging towards the floor.",
            "The supporting hand placed too far ahead of the shoulder.",
            "Bending the supporting elbow.",
            "Rolling the chest towards the floor.",
        ],
        "benefits": ["Strengthens the arms, wrists and obliques", "Improves balance",
                     "Builds shoulder stability"],
        "targets": {
            "left_elbow": (172, 10), "right_elbow": (172, 10),
            "left_shoulder": (70, 15, 2), "right_shoulder": (110, 20),
            "left_hip": (172, 10, 2), "right_hip": (172, 10, 2),
            "left_knee": (175, 8), "right_knee": (175, 8),
            "torso_inclination": (70, 15, 2),
        },
    },
    {
        "name": "Staff",
        "slug": "staff",
        "sanskrit": "Dandasana",
        "difficulty": "beginner",
        "side_refers_to": SYMMETRIC,
        "description": "Sitting upright with the legs straight out in front and the hands on the floor beside "
                       "the hips.",
        "instructions": [
            "Sit on the mat with your legs extended straight in front of you, feet together.",
            "Place your hands on the floor beside your hips, fingers forward, arms straight.",
            "Press your thighs down and flex your feet, toes pointing up.",
            "Lift your chest and lengthen your spine so it is vertical.",
            "Hold for 5 breaths.",
        ],
        "common_mistakes": [
            "Rounding the lower back (sit on a folded blanket if the hamstrings are tight).",
            "Bending the knees.",
            "Leaning back onto the hands.",
            "Shrugging the shoulders.",
        ],
        "benefits": ["Strengthens the back muscles", "Stretches the hamstrings",
                     "Improves sitting posture"],
        "targets": {
            "left_elbow": (170, 12), "right_elbow": (170, 12),
            "left_shoulder": (15, 12), "right_shoulder": (15, 12),
            "left_hip": (90, 12, 2), "right_hip": (90, 12, 2),
            "left_knee": (175, 8, 2), "right_knee": (175, 8, 2),
            "torso_inclination": (0, 10),
        },
    },
    {
        "name": "T-Pose",
        "slug": "t-pose",
        "sanskrit": "Samasthiti with arms extended",
        "difficulty": "beginner",
        "side_refers_to": SYMMETRIC,
        "description": "Standing tall with both arms straight out to the sides at shoulder height, the body "
                       "forming a T.",
        "instructions": [
            "Stand with your feet hip-width apart, legs straight.",
            "Raise both arms out to the sides to shoulder height.",
            "Straighten the elbows and reach through the fingertips.",
            "Keep the shoulders relaxed away from the ears and the torso upright.",
            "Hold for 5 breaths.",
        ],
        "common_mistakes": [
            "Arms drifting above or below shoulder height.",
            "Bending the elbows.",
            "Shrugging the shoulders.",
            "Leaning to one side.",
        ],
        "benefits": ["Strengthens the shoulders and upper back", "Improves posture",
                     "A reference pose for calibrating the camera"],
        "targets": {
            "left_elbow": (175, 10), "right_elbow": (175, 10),
            "left_shoulder": (90, 12, 2), "right_shoulder": (90, 12, 2),
            "left_hip": (178, 7), "right_hip": (178, 7),
            "left_knee": (178, 7), "right_knee": (178, 7),
            "torso_inclination": (0, 8),
        },
    },
    {
        "name": "Warrior II",
        "slug": "warrior-ii",
        "sanskrit": "Virabhadrasana II",
        "difficulty": "beginner",
        "side_refers_to": "front (bent) leg",
        "description": "A wide stance with the front knee bent over the ankle, the back leg straight and the "
                       "arms extended level with the floor.",
        "instructions": [
            "Step your feet wide apart; turn your left foot out 90 degrees and the right foot in slightly.",
            "Bend your left knee until it is over the left ankle, thigh approaching parallel to the floor.",
            "Keep the right leg straight and press the outer edge of the right foot down.",
            "Raise your arms to shoulder height, reaching out over the front and back legs.",
            "Keep the torso upright, gaze over the front hand; hold for 5 breaths, then switch sides.",
        ],
        "common_mistakes": [
            "Front knee collapsing inwards or not bent enough.",
            "Bending the back knee.",
            "Arms drooping below shoulder height.",
            "Leaning the torso over the front leg.",
        ],
        "benefits": ["Strengthens the legs and ankles", "Opens the hips and chest",
                     "Builds stamina and concentration"],
        "targets": {
            "left_elbow": (175, 10), "right_elbow": (175, 10),
            "left_shoulder": (90, 12), "right_shoulder": (90, 12),
            "left_hip": (105, 15, 2), "right_hip": (140, 15),
            "left_knee": (100, 15, 2), "right_knee": (176, 8, 2),
            "torso_inclination": (0, 10),
        },
    },
)
