"""The robot model catalogue shipped with the platform (joint limits in radians, velocities in rad/s).

Pure data, no Django: the data migration and `seed_robot_models` load it; training's retargeting
targets the dexterous hand by its slug.
"""

import math

DEXTEROUS_HAND_SLUG = "generic-dexterous-hand"


def _deg(value: float) -> float:
    return round(math.radians(value), 4)


def _finger(name: str) -> list[dict]:
    return [
        {"name": f"{name}_mcp_abduction", "min": _deg(-20), "max": _deg(20), "max_velocity": 3.0},
        {"name": f"{name}_mcp_flexion", "min": _deg(-10), "max": _deg(90), "max_velocity": 4.0},
        {"name": f"{name}_pip_flexion", "min": 0.0, "max": _deg(110), "max_velocity": 4.0},
        {"name": f"{name}_dip_flexion", "min": 0.0, "max": _deg(90), "max_velocity": 4.0},
    ]


DEXTEROUS_HAND_JOINTS = [
    {"name": "wrist_flexion", "min": _deg(-70), "max": _deg(70), "max_velocity": 2.0},
    {"name": "wrist_deviation", "min": _deg(-30), "max": _deg(30), "max_velocity": 2.0},
    {"name": "thumb_cmc_flexion", "min": _deg(-20), "max": _deg(60), "max_velocity": 3.0},
    {"name": "thumb_cmc_abduction", "min": 0.0, "max": _deg(80), "max_velocity": 3.0},
    {"name": "thumb_mcp_flexion", "min": 0.0, "max": _deg(60), "max_velocity": 4.0},
    {"name": "thumb_ip_flexion", "min": _deg(-10), "max": _deg(80), "max_velocity": 4.0},
    *_finger("index"),
    *_finger("middle"),
    *_finger("ring"),
    *_finger("little"),
]

ROBOT_MODELS = [
    {
        "slug": DEXTEROUS_HAND_SLUG,
        "name": "Generic Dexterous Hand",
        "manufacturer": "Physical AI Platform",
        "kind": "hand",
        "description": "A 22-DoF anthropomorphic hand: wrist, a 4-joint thumb and 4 joints per finger. "
        "The retargeting target for recorded human hand motion.",
        "joints": DEXTEROUS_HAND_JOINTS,
        "capabilities": ["grasp", "pinch", "gesture", "retargeting"],
    },
    {
        "slug": "franka-research-3",
        "name": "Franka Research 3",
        "manufacturer": "Franka Robotics",
        "kind": "arm",
        "description": "7-DoF torque-controlled arm for manipulation research.",
        "joints": [
            {"name": "fr3_joint1", "min": -2.7437, "max": 2.7437, "max_velocity": 2.62},
            {"name": "fr3_joint2", "min": -1.7837, "max": 1.7837, "max_velocity": 2.62},
            {"name": "fr3_joint3", "min": -2.9007, "max": 2.9007, "max_velocity": 2.62},
            {"name": "fr3_joint4", "min": -3.0421, "max": -0.1518, "max_velocity": 2.62},
            {"name": "fr3_joint5", "min": -2.8065, "max": 2.8065, "max_velocity": 5.26},
            {"name": "fr3_joint6", "min": 0.5445, "max": 4.5169, "max_velocity": 4.18},
            {"name": "fr3_joint7", "min": -3.0159, "max": 3.0159, "max_velocity": 5.26},
        ],
        "capabilities": ["manipulation", "torque_control"],
    },
    {
        "slug": "ur5e",
        "name": "UR5e",
        "manufacturer": "Universal Robots",
        "kind": "arm",
        "description": "6-DoF collaborative arm, 5 kg payload.",
        "joints": [
            {"name": name, "min": -6.2832, "max": 6.2832, "max_velocity": velocity}
            for name, velocity in [
                ("shoulder_pan", 3.14), ("shoulder_lift", 3.14), ("elbow", 3.14),
                ("wrist_1", 6.28), ("wrist_2", 6.28), ("wrist_3", 6.28),
            ]
        ],
        "capabilities": ["manipulation", "collaborative"],
    },
    {
        "slug": "unitree-g1",
        "name": "Unitree G1",
        "manufacturer": "Unitree Robotics",
        "kind": "humanoid",
        "description": "Compact humanoid; the arm and waist joints exposed for teleoperation.",
        "joints": [
            {"name": "waist_yaw", "min": -2.618, "max": 2.618, "max_velocity": 3.0},
            *[
                joint
                for side in ("left", "right")
                for joint in [
                    {"name": f"{side}_shoulder_pitch", "min": -3.0892, "max": 2.6704, "max_velocity": 3.0},
                    {"name": f"{side}_shoulder_roll", "min": -1.5882 if side == "left" else -2.2515,
                     "max": 2.2515 if side == "left" else 1.5882, "max_velocity": 3.0},
                    {"name": f"{side}_shoulder_yaw", "min": -2.618, "max": 2.618, "max_velocity": 3.0},
                    {"name": f"{side}_elbow", "min": -1.0472, "max": 2.0944, "max_velocity": 3.0},
                    {"name": f"{side}_wrist_roll", "min": -1.9722, "max": 1.9722, "max_velocity": 3.0},
                ]
            ],
        ],
        "capabilities": ["locomotion", "manipulation", "teleoperation"],
    },
    {
        "slug": "turtlebot-4",
        "name": "TurtleBot 4",
        "manufacturer": "Clearpath Robotics",
        "kind": "mobile",
        "description": "Differential-drive mobile base; joints are wheel positions.",
        "joints": [
            {"name": "left_wheel", "min": -1000.0, "max": 1000.0, "max_velocity": 15.0},
            {"name": "right_wheel", "min": -1000.0, "max": 1000.0, "max_velocity": 15.0},
        ],
        "capabilities": ["navigation", "mapping"],
    },
]
